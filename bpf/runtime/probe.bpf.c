/* Programs `bulwark doctor` test-loads to see what this kernel really accepts. Each is
 * loaded on its own (the others' autoload is off); none of them decides anything: the LSM
 * probe returns the previous verdict unchanged and is only attached for an instant. The
 * ring buffer is probed by creating a map directly. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 probe_hits = 0;

SEC("lsm/file_open")
int BPF_PROG(bw_probe_lsm, struct file *file, int ret)
{
	__sync_fetch_and_add(&probe_hits, 1);
	return ret;
}

SEC("kprobe")
int bw_probe_kprobe(void *ctx)
{
	__sync_fetch_and_add(&probe_hits, 1);
	return 0;
}

SEC("tracepoint")
int bw_probe_tp(void *ctx)
{
	__sync_fetch_and_add(&probe_hits, 1);
	return 0;
}
