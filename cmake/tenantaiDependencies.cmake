# Every dependency comes from Debian 12 packages (scripts/setup.sh); nothing is fetched.
# The same lookups are repeated by tenantaiConfig.cmake for installed consumers.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)          # before faiss: its exported target links OpenMP::OpenMP_CXX
find_package(BLAS REQUIRED)
find_package(faiss REQUIRED)           # Debian exports an un-namespaced static `faiss` target
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET GLOBAL libsodium)  # libsodium ships only a .pc
find_package(SQLite3 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(Boost 1.74 REQUIRED)      # header-only parts: Asio, Beast, Multi-Index
