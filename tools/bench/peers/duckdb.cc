#include "tools/bench/peers/duckdb.h"

#include <cstdio>
#include <fstream>

#include "core/status.h"
#include "fmt/format.h"
#include "tools/bench/harness/child_process.h"
#include "tools/bench/harness/harness.h"

namespace segmenta {

absl::Status WritePeerCsv(const ProfileTable& p, const std::string& dir) {
  std::FILE* events = std::fopen((dir + "/events.csv").c_str(), "wb");
  if (events == nullptr) return absl::InternalError("cannot write events.csv");
  static char buffer[1 << 22];
  std::setvbuf(events, buffer, _IOFBF, sizeof(buffer));
  std::fputs("contact,kind,event,ts,path,category,revenue\n", events);
  for (const auto& table : p.tables()) {
    const std::string kind(MessageTypeName(table->type));
    const std::string event = table->type == MessageType::kTrack ? table->key : "";
    const Column* path = table->column("path");
    const Column* revenue = table->column("revenue");
    const Column* category = table->column("category");
    for (size_t r = 0; r < table->rows(); ++r) {
      if (table->contact[r] == 0) continue;
      std::string line =
          fmt::format("{},{},\"{}\",{},", table->contact[r], kind, event, table->time[r]);
      if (path != nullptr && path->type(r) == ValueType::kString) {
        line += '"';
        for (char c : path->string(r)) line += c == '"' ? std::string("\"\"") : std::string(1, c);
        line += '"';
      }
      line += ',';
      if (category != nullptr && category->type(r) == ValueType::kString) {
        line += category->string(r);  // slugs: no quoting needed
      }
      line += ',';
      if (revenue != nullptr && revenue->type(r) == ValueType::kNumber) {
        line += fmt::format("{}", revenue->number(r));
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), events);
    }
  }
  std::fclose(events);
  std::ofstream contacts(dir + "/contacts.csv");
  contacts << "contact,age,gender,country,job_title,newsletter,card_expiry\n";
  auto text = [&](const char* name, size_t c) -> std::string {
    const Column* column = p.trait(name);
    if (column == nullptr || column->type(c) == ValueType::kNull) return "";
    if (column->type(c) == ValueType::kString) {
      std::string out = "\"";
      for (char ch : column->string(c)) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      return out + "\"";
    }
    return column->Get(c).ToJson();
  };
  for (size_t c = 1; c < p.contact_rows(); ++c) {
    if (p.contact(c) == nullptr) continue;
    contacts << c << ',' << text("age", c) << ',' << text("gender", c) << ',' << text("country", c)
             << ',' << text("job_title", c) << ',' << text("newsletter", c) << ','
             << text("card_expiry", c) << '\n';
  }
  std::ofstream accounts(dir + "/accounts.csv");
  std::ofstream members(dir + "/members.csv");
  accounts << "group_id,industry,employees\n";
  members << "group_id,contact\n";
  const Column* industry = p.account_trait("industry");
  const Column* employees = p.account_trait("employees");
  for (uint32_t a = 0; a < p.account_rows(); ++a) {
    const AccountState& account = p.account(a);
    accounts << '"' << account.group_id << "\","
             << (industry != nullptr && industry->type(a) == ValueType::kString
                     ? "\"" + std::string(industry->string(a)) + "\""
                     : "")
             << ','
             << (employees != nullptr && employees->type(a) == ValueType::kNumber
                     ? fmt::format("{}", employees->number(a))
                     : "")
             << '\n';
    for (uint32_t c : account.contacts) members << '"' << account.group_id << "\"," << c << '\n';
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RunNodePeer(const std::string& script,
                                                     std::vector<std::string> args,
                                                     const std::string& work_dir) {
  std::string path = std::string(SEGMENTA_BENCH_PEERS_DIR) + "/" + script;
  SpawnOptions spawn;
  spawn.stdout_path = work_dir + "/" + script + ".out";
  spawn.stderr_path = work_dir + "/" + script + ".err";
  Note("running DuckDB ({})", path);
  args.insert(args.begin(), {"/usr/bin/node", path});
  SEGMENTA_ASSIGN_OR_RETURN(ChildProcess node, ChildProcess::Spawn(args, spawn));
  int status = *node.Wait();
  if (!ExitedCleanly(status)) {
    return absl::InternalError(fmt::format("the DuckDB peer failed ({}): {}",
                                           DescribeWaitStatus(status),
                                           TailOfFile(spawn.stderr_path)));
  }
  std::vector<std::string> lines;
  std::ifstream out(spawn.stdout_path);
  std::string line;
  while (std::getline(out, line)) lines.push_back(line);
  return lines;
}

}  // namespace segmenta
