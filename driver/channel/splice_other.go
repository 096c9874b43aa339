//go:build !linux

package channel

import "net"

// spliceSink exists on Linux only (splice(2)); elsewhere no sink is one.
type spliceSink interface {
	splice(head []byte, src *net.TCPConn, n int, crc uint32) error
}

// spliceJob is never made outside Linux.
type spliceJob struct{}

func (a *asyncSink) spliceFrame(*spliceJob) {}
