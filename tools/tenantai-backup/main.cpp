// tenantai-backup: back up and restore a stopped data_dir, whole or one tenant (docs/backup.md).
#include <iostream>
#include <string>
#include <vector>

#include "backup.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return tenantai::backup::run_backup_cli(args, std::cout, std::cerr);
}
