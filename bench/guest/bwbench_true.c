/* The exec benchmark's target: a tiny static program that exits 0 at once (no libc, no
 * dynamic loader), so fork+execve+wait measures the kernel's exec path. */
void _start(void) {
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
