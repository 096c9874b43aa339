package channel

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
)

// Four consumers of one output (four channels sharing the stored copy)
// fetch it at once with zstd: every consumer gets the bytes, and each
// frame was read and compressed once, not once per consumer. A fifth,
// later fetch is served from the cache too; the cache's memory stays
// within its bound.
func TestFanOutCompressesEachFrameOnce(t *testing.T) {
	ts := startServer(t, ServerConfig{CompressionLevel: 1})
	data := textBytes(8<<20, 71)
	first := ts.publish(t, "c0", data)
	const n = 4
	for i := 1; i < n; i++ {
		if _, err := ts.store.PublishSame(Entry{Run: testRun, Channel: fmt.Sprintf("c%d", i), Key: testKey(t)}, first); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func(ch string) error {
		var out bytes.Buffer
		if _, err := FetchStream(context.Background(), request(t, ts.addr, ch), &out, nil, nil); err != nil {
			return err
		}
		if !bytes.Equal(out.Bytes(), data) {
			return fmt.Errorf("%s: bytes differ", ch)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- fetch(fmt.Sprintf("c%d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	frames := int64(len(data) / DefaultFrameSize)
	if computed, size := ts.frames.stats(); computed != frames || size > DefaultFrameCacheBytes {
		t.Fatalf("%d frames compressed for %d consumers of %d frames (cache %d bytes)", computed, n, frames, size)
	}
	if err := fetch("c0"); err != nil {
		t.Fatal(err)
	}
	if computed, _ := ts.frames.stats(); computed != frames {
		t.Fatalf("a later fetch compressed again: %d frames", computed)
	}
}

// The cache forgets the least recently used frames beyond its bound.
func TestFrameCacheEvicts(t *testing.T) {
	c := newFrameCache(10)
	for i := range 5 {
		k := frameKey{off: int64(i)}
		fr, err := c.get(k, func() (encodedFrame, error) { return encodedFrame{rawLen: 4, payload: []byte("abcd")}, nil })
		if err != nil || string(fr.payload) != "abcd" {
			t.Fatal(fr, err)
		}
	}
	if computed, size := c.stats(); computed != 5 || size != 8 {
		t.Fatalf("computed %d, size %d; want 5 and 8 (two frames kept)", computed, size)
	}
	c.get(frameKey{off: 0}, func() (encodedFrame, error) { return encodedFrame{payload: []byte("abcd")}, nil })
	if computed, _ := c.stats(); computed != 6 {
		t.Fatalf("an evicted frame was not computed again: %d", computed)
	}
}
