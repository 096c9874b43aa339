package channel

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing [off, off+n) of f to disk
// without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It is advice:
// the final fsync still makes the file durable, but has less left to do,
// and dirty memory stays bounded during a large fetch. Errors are ignored.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
}
