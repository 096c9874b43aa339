package channel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A marker is replaced whole (renameio): the second write wins, the file
// is private to the driver (0600) and no temporary file stays beside it.
func TestWriteMarkerReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alloc.in.abc.json")
	m := &Manager{}
	for _, mk := range []marker{{Format: "file", Size: 1, SHA256: "aa"}, {Format: FormatStream, Size: 2, SHA256: "bb"}} {
		if err := m.writeMarker(path, mk); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got marker
	if err := json.Unmarshal(b, &got); err != nil || got != (marker{Format: FormatStream, Size: 2, SHA256: "bb"}) {
		t.Errorf("marker = %+v (%v), want the second write", got, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("marker mode %v, want 0600", st.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only the marker", len(entries))
	}
}
