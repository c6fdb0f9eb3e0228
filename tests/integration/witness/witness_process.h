// One tenantai-witness process for the cluster tests: its key (made by `tenantai-witness
// keygen`), state file and output in a temp directory; started on a random loopback port found
// through --port-file; SIGKILLed by the destructor (and by the kernel if the test process dies:
// PR_SET_PDEATHSIG), so no witness outlives a failed test. Not thread-safe.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/test_auth.h"

namespace witness_test {

class WitnessProcess {
 public:
  // Generates the key with `tenantai-witness keygen`; `logs` are "--log" values (origin=key).
  WitnessProcess(std::string name, std::vector<std::string> logs) : name_(std::move(name)), logs_(std::move(logs)) {
    verifier_key_ = run_keygen();
  }
  ~WitnessProcess() { kill_now(); }
  WitnessProcess(const WitnessProcess&) = delete;
  WitnessProcess& operator=(const WitnessProcess&) = delete;

  // Starts the server and waits (up to 10 s) for its port file. Throws if it does not come up.
  void start() {
    std::filesystem::remove(port_file());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) exec_server();
    port_ = wait_for_port();
  }
  // SIGTERM and wait; returns the exit status (-1 if it did not exit normally).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    return reap();
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap();
  }

  std::uint16_t port() const { return port_; }
  const std::string& verifier_key() const { return verifier_key_; }
  std::string output() const {
    std::ifstream in(dir_.path() + "/output.txt");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string key_file() const { return dir_.path() + "/witness.key"; }
  std::string port_file() const { return dir_.path() + "/port"; }

  std::string run_keygen() {
    const std::string command = std::string(TENANTAI_WITNESS_BIN) + " keygen --name " + name_ + " --out " + key_file();
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    char line[512] = {};
    const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
    if (::pclose(pipe) != 0 || !read) throw std::runtime_error("keygen failed: " + command);
    std::string key(line);
    if (!key.empty() && key.back() == '\n') key.pop_back();
    return key;
  }

  [[noreturn]] void exec_server() {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = ::open((dir_.path() + "/output.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<std::string> args = {TENANTAI_WITNESS_BIN, "--listen", "127.0.0.1:0", "--key", key_file(),
                                     "--state", dir_.path() + "/state.json", "--port-file", port_file()};
    for (const auto& log : logs_) args.insert(args.end(), {"--log", log});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  std::uint16_t wait_for_port() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("tenantai-witness exited at start:\n" + output());
      }
      std::ifstream in(port_file());
      int port = 0;
      if (in >> port && port > 0) return static_cast<std::uint16_t>(port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_now();
    throw std::runtime_error("tenantai-witness did not write its port file:\n" + output());
  }

  int reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  tenantai::test_support::TempDir dir_;
  std::string name_;
  std::vector<std::string> logs_;
  std::string verifier_key_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace witness_test
