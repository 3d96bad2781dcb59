# Registering tests that run inside the QEMU test VM (tests/vm/harness/run-vm; see docs/testing.md).
#
# bulwark_add_guest_gtest(<target> <sources>...)
#   Builds a GoogleTest binary for the guest: C++20, project warnings, gtest_main, libbpf,
#   and tests/vm/harness/guest/GuestUtil.h on the include path.
#
# bulwark_add_vm_test(NAME <ctest name>
#                     BINARIES <gtest targets or paths>...   run in the guest, in order
#                     [TOOLS <executable targets or paths>...] copied to /bulwark/bin (on PATH)
#                     [FILES <path>[=<guest path>]...]        default guest path /bulwark/files/<name>
#                     [COMMANDS <shell command>...]           run after the gtests (busybox sh)
#                     [GTEST_ARGS <arg>...]                   passed to every gtest binary
#                     [RUNNER_ARGS <arg>...]                  extra run-vm options
#                     [TIMEOUT <seconds>]                     guest timeout, default 300
#                     [LABELS <label>...])                    added to the label "vm"
#   Registers ONE CTest test that boots one VM and runs all BINARIES and COMMANDS in it
#   (after the doctor probe). It fails if any of them fails; run-vm prints the guest console
#   and repeats the failing assertions at the end. Targets may be given by name; paths and
#   generator expressions ($<TARGET_FILE:x>) work everywhere. The test does not build
#   anything: `cmake --build` first (all guest binaries and fixtures are in ALL).

set(BULWARK_VM_RUNNER ${CMAKE_CURRENT_LIST_DIR}/../tests/vm/harness/run-vm)
cmake_path(NORMAL_PATH BULWARK_VM_RUNNER)
set(BULWARK_VM_GUEST_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/vm/harness/guest)
cmake_path(NORMAL_PATH BULWARK_VM_GUEST_INCLUDE_DIR)
set(BULWARK_VM_DEFAULT_TIMEOUT 300)

function(bulwark_add_guest_gtest target)
  add_executable(${target} ${ARGN})
  target_compile_options(${target} PRIVATE ${BULWARK_WARNINGS})
  target_include_directories(${target} PRIVATE ${BULWARK_VM_GUEST_INCLUDE_DIR})
  target_link_libraries(${target} PRIVATE GTest::gtest GTest::gtest_main PkgConfig::LIBBPF)
endfunction()

# A target name becomes its built file; anything else is passed through as a path.
function(_bulwark_vm_path out item)
  if(TARGET ${item})
    set(${out} $<TARGET_FILE:${item}> PARENT_SCOPE)
  else()
    set(${out} ${item} PARENT_SCOPE)
  endif()
endfunction()

function(bulwark_add_vm_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT"
                        "BINARIES;TOOLS;FILES;COMMANDS;GTEST_ARGS;RUNNER_ARGS;LABELS" ${ARGN})
  if(NOT A_NAME)
    message(FATAL_ERROR "bulwark_add_vm_test: NAME is required")
  endif()
  if(NOT A_BINARIES AND NOT A_COMMANDS)
    message(FATAL_ERROR "bulwark_add_vm_test(${A_NAME}): give BINARIES or COMMANDS")
  endif()
  if(A_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "bulwark_add_vm_test(${A_NAME}): unknown arguments ${A_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT ${BULWARK_VM_DEFAULT_TIMEOUT})
  endif()

  set(cmd ${BULWARK_VM_RUNNER} --doctor $<TARGET_FILE:bulwark_vm_doctor> --timeout ${A_TIMEOUT})
  foreach(item IN LISTS A_BINARIES)
    _bulwark_vm_path(path ${item})
    list(APPEND cmd --gtest ${path})
  endforeach()
  foreach(item IN LISTS A_TOOLS)
    _bulwark_vm_path(path ${item})
    list(APPEND cmd --binary ${path})
  endforeach()
  foreach(item IN LISTS A_FILES)
    list(APPEND cmd --file ${item})
  endforeach()
  foreach(item IN LISTS A_COMMANDS)
    list(APPEND cmd --run ${item})
  endforeach()
  foreach(item IN LISTS A_GTEST_ARGS)
    list(APPEND cmd --gtest-arg ${item})
  endforeach()
  list(APPEND cmd ${A_RUNNER_ARGS})

  add_test(NAME ${A_NAME} COMMAND ${cmd})
  # CTest's own timeout only backs up run-vm's, which reports a hung guest properly.
  math(EXPR ctest_timeout "${A_TIMEOUT} + 60")
  set(labels vm ${A_LABELS})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${labels}" TIMEOUT ${ctest_timeout})
endfunction()
