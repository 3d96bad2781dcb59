# Helpers for compiling BPF C with clang-19 at build time.
# BULWARK_VMLINUX_H: vmlinux.h generated from the build machine's kernel BTF. The BPF
# code is CO-RE only, so the objects run on other kernels (the VM's 6.1) too.
find_program(BULWARK_CLANG_BPF NAMES clang-19 REQUIRED)
find_program(BULWARK_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(BULWARK_BTF_SOURCE "/sys/kernel/btf/vmlinux" CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")
set(BULWARK_VMLINUX_DIR ${CMAKE_BINARY_DIR}/generated/vmlinux)
set(BULWARK_VMLINUX_H ${BULWARK_VMLINUX_DIR}/vmlinux.h)
if(NOT TARGET bulwark_vmlinux_h)
  add_custom_command(
    OUTPUT ${BULWARK_VMLINUX_H}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${BULWARK_VMLINUX_DIR}
    COMMAND ${BULWARK_BPFTOOL} btf dump file ${BULWARK_BTF_SOURCE} format c > ${BULWARK_VMLINUX_H}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${BULWARK_VMLINUX_H}.tmp ${BULWARK_VMLINUX_H}
    COMMENT "Generating vmlinux.h from ${BULWARK_BTF_SOURCE}")
  add_custom_target(bulwark_vmlinux_h DEPENDS ${BULWARK_VMLINUX_H})
endif()

set(BULWARK_BPF_CFLAGS -target bpf -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror
    -I${BULWARK_VMLINUX_DIR} -I${PROJECT_SOURCE_DIR}/abi)

# bulwark_bpf_compile(OUTPUT out SOURCE src [BITCODE] [DEPENDS ...])
# Compiles one BPF C file to an ELF object, or with BITCODE to LLVM bitcode (-emit-llvm).
function(bulwark_bpf_compile)
  cmake_parse_arguments(A "BITCODE" "OUTPUT;SOURCE" "DEPENDS" ${ARGN})
  set(mode -c)
  if(A_BITCODE)
    # bulwarkc turns this bitcode into bundles wherever it runs, and LLVM's BTF writer copies
    # into the object the text of every source line it can open by the debug info's paths.
    # Paths under /proc, where no file can be created, make that text absent everywhere, so a
    # bundle's bytes do not depend on whether the build tree (or libbpf's headers) is on the
    # machine; and a dev build compiles as fast as the package.
    set(mode -emit-llvm -c -fdebug-prefix-map=${PROJECT_SOURCE_DIR}=/proc/bulwark/src
             -fdebug-prefix-map=${CMAKE_BINARY_DIR}=/proc/bulwark/build
             -fdebug-prefix-map=/usr/include=/proc/bulwark/include)
  endif()
  # Header dependencies come from clang's depfile (IMPLICIT_DEPENDS is ignored by Ninja, which
  # would leave stale bitcode behind when a shared BPF header changes).
  add_custom_command(
    OUTPUT ${A_OUTPUT}
    COMMAND ${BULWARK_CLANG_BPF} ${BULWARK_BPF_CFLAGS} ${mode} -MD -MF ${A_OUTPUT}.d ${A_SOURCE} -o ${A_OUTPUT}
    DEPENDS ${A_SOURCE} ${BULWARK_VMLINUX_H} ${A_DEPENDS}
    DEPFILE ${A_OUTPUT}.d
    COMMENT "BPF ${A_SOURCE}")
endfunction()
