package driver

import "sync"

// taskStore holds the driver's task handles by task ID.
type taskStore struct {
	mu    sync.RWMutex
	tasks map[string]*taskHandle
}

func newTaskStore() *taskStore {
	return &taskStore{tasks: map[string]*taskHandle{}}
}

// Set stores h under id, replacing any handle there.
func (s *taskStore) Set(id string, h *taskHandle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[id] = h
}

// Get returns the handle of id and whether there is one.
func (s *taskStore) Get(id string) (*taskHandle, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.tasks[id]
	return h, ok
}

// Delete forgets the handle of id.
func (s *taskStore) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
}

// SetIfAbsent stores h under id unless a handle is there; it reports
// whether it stored h.
func (s *taskStore) SetIfAbsent(id string, h *taskHandle) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[id]; ok {
		return false
	}
	s.tasks[id] = h
	return true
}
