// Package driver is the "shard" Nomad task driver: it runs one Shardwise
// shard per task, on Nomad v1.6.1's plugin SDK.
//
// A shard's task config is what translator/nomadjob emits for driver
// "shard" (about.go holds the schemas). StartTask returns as soon as the
// task's executor process is up, with the task running; the shard's
// lifecycle then proceeds in the background:
//
//  1. fetch the input channels through the ChannelManager (task events
//     report progress, such as "waiting for upstream s001-extract/data");
//  2. run command and args as a process tree with the task's user,
//     environment and task dir as working directory (for a fused shard
//     that is /bin/sh -c SCRIPT, which runs the shard's tasks in order and
//     stops at the first failure);
//  3. after an exit with code 0, publish the output channels;
//  4. report the exit result to WaitTask.
//
// A fetch or launch failure ends the task with exit code 1 and the error
// as the exit message; a publish failure keeps the command's exit code 0
// and sets the error, so the task fails either way.
//
// The command runs under Nomad's shared executor (package driver/proc): a
// separate process that survives the plugin. The task handle's driver
// state holds the executor's reattach config, and RecoverTask reconnects
// to it after a plugin or client restart: a command already launched is
// awaited, never started again; one not launched yet (the plugin died
// while fetching inputs) has its inputs fetched again and is launched
// once.
package driver
