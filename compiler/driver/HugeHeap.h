// The compiler's heap: in transparent huge pages where the kernel offers them (madvise mode), and
// without fast bins.
#pragma once

namespace bulwark {

// Runs this program again, once, with glibc's malloc asked for transparent huge pages
// (GLIBC_TUNABLES glibc.malloc.hugetlb=1), so that touching fresh memory takes one fault per
// 2 MiB instead of one per 4 KiB: a 10,000-rule compile touches about 110 MB. Fast bins off
// too (glibc.malloc.mxfast=0): freeing a parse tree of hundreds of thousands of small nodes
// into them and consolidating them again at the next large request took about a tenth of a
// 10,000-rule compile. Returns (and the program goes on as it is) when the huge-page tunable
// is already set or the exec fails. Harmless where the kernel has no transparent huge pages.
void preferHugePages(char **argv);

} // namespace bulwark
