# Every dependency comes from a Debian package (deploy/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl REQUIRED)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# BoringSSL from android-libboringssl-dev: its headers must win over any
# system OpenSSL headers, and its libraries live outside the linker's default
# path, so binaries carry an rpath to them (no LD_LIBRARY_PATH needed).
set(FE_BORINGSSL_INCLUDE_DIR /usr/include/android)
set(FE_BORINGSSL_LIB_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android)
if(NOT EXISTS ${FE_BORINGSSL_INCLUDE_DIR}/openssl/hmac.h)
  message(FATAL_ERROR "BoringSSL headers not found in ${FE_BORINGSSL_INCLUDE_DIR}: "
                      "run deploy/install-deps.sh (package android-libboringssl-dev)")
endif()
add_library(fe_boringssl INTERFACE)
target_include_directories(fe_boringssl SYSTEM BEFORE INTERFACE ${FE_BORINGSSL_INCLUDE_DIR})
target_link_libraries(fe_boringssl INTERFACE
  ${FE_BORINGSSL_LIB_DIR}/libssl.so ${FE_BORINGSSL_LIB_DIR}/libcrypto.so)
target_link_options(fe_boringssl INTERFACE "-Wl,-rpath,${FE_BORINGSSL_LIB_DIR}")

if(FE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
