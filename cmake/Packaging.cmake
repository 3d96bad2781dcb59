# Debian packages with CPack (`cpack -G DEB` in the build directory, or scripts/package):
#   bulwark   the runtime: needs libbpf1 and libyaml-cpp0.7, never LLVM (tests/packaging checks)
#   bulwarkc  the compiler and its stdlib
# Depends are computed by dpkg-shlibdeps from the binaries. Components are declared in
# deploy/CMakeLists.txt.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bulwark)
set(CPACK_PACKAGE_VENDOR Bulwark)
set(CPACK_PACKAGE_CONTACT "Bulwark developers <dev@bulwark.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime compiler)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME bulwark)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS bulwarkc)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "Bulwark policy enforcement runtime (BPF LSM)
 bulwark loads, pins and hot-swaps policy bundles compiled by bulwarkc into the
 kernel's BPF LSM, and blocks the actions they deny. Includes the daemon's
 systemd unit (not enabled on install).")

set(CPACK_DEBIAN_COMPILER_PACKAGE_NAME bulwarkc)
set(CPACK_DEBIAN_COMPILER_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_COMPILER_PACKAGE_SUGGESTS bulwark)
set(CPACK_COMPONENT_COMPILER_DESCRIPTION "Bulwark policy compiler and standard library
 bulwarkc checks, lints, formats, unit-tests and compiles Bulwark security
 policies into bundles of BPF programs and map data for the bulwark runtime.")

include(CPack)
