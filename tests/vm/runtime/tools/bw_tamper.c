/* bw_tamper: what a root attacker would run against Bulwark's kernel state, with raw bpf()
 * calls and plain file system calls (no libbpf, nothing of Bulwark's). Used by the
 * self-protection VM tests (tests/vm/runtime/SelfProtectVmTest.cpp).
 *
 *   bw_tamper <attack> <pin> [key] [value]
 *   bw_tamper ptrace <pid>
 *
 * Exit status: 0 when the attack went through, otherwise the errno of the step that failed
 * (the step is printed on stderr). Attacks on maps first get an fd with BPF_OBJ_GET of the pin
 * (read-write, as for writing; "get-ro" asks for read only). `key` is a u32 map key
 * (default 0), `value` a u32 written at the start of the value (default 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int fail(const char *step)
{
	int e = errno ? errno : 1;
	fprintf(stderr, "bw_tamper: %s: %s\n", step, strerror(e));
	return e > 255 ? 255 : e;
}

static int obj_get(const char *pin, uint32_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.pathname = (uint64_t)(uintptr_t)pin;
	a.file_flags = flags;
	return (int)sys_bpf(BPF_OBJ_GET, &a);
}

static int map_info(int fd, struct bpf_map_info *info)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	memset(info, 0, sizeof *info);
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof *info;
	a.info.info = (uint64_t)(uintptr_t)info;
	return (int)sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

/* One map command on `fd` with key `key`; values are zero (a prog array's value is an fd:
 * the attacker's own program fd would do, zero is enough to reach the permission check). */
static int map_attack(const char *attack, int fd, uint32_t key, uint32_t val)
{
	struct bpf_map_info info;
	if (map_info(fd, &info) != 0)
		return fail("BPF_OBJ_GET_INFO_BY_FD");
	char value[4096];
	memset(value, 0, sizeof value);
	memcpy(value, &val, sizeof val);
	uint32_t keys[1] = {key};
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	int cmd;
	if (!strcmp(attack, "update") || !strcmp(attack, "delete") || !strcmp(attack, "lookup-delete")) {
		cmd = !strcmp(attack, "update") ? BPF_MAP_UPDATE_ELEM
		      : !strcmp(attack, "delete") ? BPF_MAP_DELETE_ELEM
						  : BPF_MAP_LOOKUP_AND_DELETE_ELEM;
		a.map_fd = fd;
		a.key = (uint64_t)(uintptr_t)keys;
		if (cmd != BPF_MAP_DELETE_ELEM) /* the kernel wants the fields after key zero */
			a.value = (uint64_t)(uintptr_t)value;
	} else if (!strcmp(attack, "update-batch") || !strcmp(attack, "delete-batch") ||
		   !strcmp(attack, "lookup-delete-batch")) {
		cmd = !strcmp(attack, "update-batch") ? BPF_MAP_UPDATE_BATCH
		      : !strcmp(attack, "delete-batch") ? BPF_MAP_DELETE_BATCH
							: BPF_MAP_LOOKUP_AND_DELETE_BATCH;
		static uint32_t out_batch;
		a.batch.map_fd = fd;
		a.batch.keys = (uint64_t)(uintptr_t)keys;
		a.batch.values = (uint64_t)(uintptr_t)value;
		a.batch.count = 1;
		a.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
	} else if (!strcmp(attack, "freeze")) {
		cmd = BPF_MAP_FREEZE;
		a.map_fd = fd;
	} else {
		fprintf(stderr, "bw_tamper: unknown map attack %s\n", attack);
		return 254;
	}
	if (sys_bpf(cmd, &a) != 0)
		return fail(attack);
	return 0;
}

/* Every map id the kernel has: how many the kernel refused to open (EPERM), printed as
 * "refused N opened M". Exit 0. */
static int maps_by_id(void)
{
	int refused = 0, opened = 0;
	union bpf_attr a;
	uint32_t id = 0;
	for (;;) {
		memset(&a, 0, sizeof a);
		a.start_id = id;
		if (sys_bpf(BPF_MAP_GET_NEXT_ID, &a) != 0)
			break;
		id = a.next_id;
		memset(&a, 0, sizeof a);
		a.map_id = id;
		int fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
		if (fd < 0) {
			refused += errno == EPERM;
			continue;
		}
		struct bpf_map_info info;
		if (map_info(fd, &info) == 0 && strncmp(info.name, "bw_", 3) == 0)
			printf("opened bw map %s (id %u)\n", info.name, id);
		opened++;
		close(fd);
	}
	printf("refused %d opened %d\n", refused, opened);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bw_tamper <attack> <pin> [key]\n");
		return 254;
	}
	const char *attack = argv[1];
	const char *pin = argc > 2 ? argv[2] : "";
	uint32_t key = argc > 3 ? (uint32_t)strtoul(argv[3], 0, 0) : 0;
	uint32_t val = argc > 4 ? (uint32_t)strtoul(argv[4], 0, 0) : 0;
	errno = 0;
	if (!strcmp(attack, "maps-by-id"))
		return maps_by_id();
	if (!strcmp(attack, "get-ro")) {
		if (obj_get(pin, BPF_F_RDONLY) < 0)
			return fail("BPF_OBJ_GET (read only)");
		return 0;
	}
	if (!strcmp(attack, "unlink"))
		return unlink(pin) == 0 ? 0 : fail("unlink");
	if (!strcmp(attack, "rmdir"))
		return rmdir(pin) == 0 ? 0 : fail("rmdir");
	if (!strcmp(attack, "rename")) {
		char to[4096];
		snprintf(to, sizeof to, "%s.moved", pin);
		return rename(pin, to) == 0 ? 0 : fail("rename");
	}
	if (!strcmp(attack, "mount-over"))
		return mount("none", pin, "tmpfs", 0, 0) == 0 ? 0 : fail("mount");
	if (!strcmp(attack, "umount"))
		return umount2(pin, MNT_DETACH) == 0 ? 0 : fail("umount");
	if (!strcmp(attack, "ptrace")) { /* <pin> is a pid: attach, then detach again */
		pid_t pid = (pid_t)atoi(pin);
		if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0)
			return fail("PTRACE_ATTACH");
		waitpid(pid, 0, 0);
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 0;
	}
	if (!strcmp(attack, "write"))
		return open(pin, O_WRONLY) >= 0 ? 0 : fail("open for writing");
	if (!strcmp(attack, "link-detach") || !strcmp(attack, "link-update")) {
		int lfd = obj_get(pin, 0);
		if (lfd < 0)
			return fail("BPF_OBJ_GET");
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		int cmd = BPF_LINK_DETACH;
		if (!strcmp(attack, "link-update")) {
			cmd = BPF_LINK_UPDATE;
			a.link_update.link_fd = lfd;
			a.link_update.new_prog_fd = lfd; /* any fd: the permission check comes first */
		} else {
			a.link_detach.link_fd = lfd;
		}
		return sys_bpf(cmd, &a) == 0 ? 0 : fail(attack);
	}
	if (!strcmp(attack, "prog-detach")) {
		int pfd = obj_get(pin, 0);
		if (pfd < 0)
			return fail("BPF_OBJ_GET");
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.target_fd = 0;
		a.attach_bpf_fd = pfd;
		a.attach_type = BPF_LSM_MAC;
		return sys_bpf(BPF_PROG_DETACH, &a) == 0 ? 0 : fail(attack);
	}
	/* Map attacks. "held-<attack>": the fd is opened first, then the attack waits until the
	 * file named by $BW_TAMPER_GO exists (an fd obtained before the guard was attached). */
	int held = strncmp(attack, "held-", 5) == 0;
	if (held)
		attack += 5;
	int fd = obj_get(pin, 0);
	if (fd < 0)
		return fail("BPF_OBJ_GET");
	if (held) {
		const char *go = getenv("BW_TAMPER_GO");
		const char *ready = getenv("BW_TAMPER_READY");
		if (ready)
			close(open(ready, O_CREAT | O_WRONLY, 0644));
		for (int i = 0; go && i < 6000 && access(go, F_OK) != 0; i++)
			usleep(10000);
	}
	return map_attack(attack, fd, key, val);
}
