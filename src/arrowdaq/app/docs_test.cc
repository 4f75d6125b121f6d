// The documentation cannot drift from the code: every key docs/config.md documents is one the
// parser declares (config::ConfigTables()) and the other way round, with the same type and
// default; the same for each processor kind's options (pipeline::ProcessorOptionSpecs) and for
// every driver's options in docs/instruments.md (instruments::DriverRegistry).
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/config/config.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/processor.h"

namespace arrowdaq {
namespace {

struct Section {
  int level = 0;
  std::string heading;
  std::vector<std::vector<std::string>> rows;  // table rows (header and separator skipped)
  std::string text;                            // everything in the section, tables included
};

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(Trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// Split a markdown file into sections at its headings; each keeps the rows of its tables.
std::vector<Section> ReadSections(const std::string& name) {
  const char* dir = std::getenv("ARROWDAQ_DOCS_DIR");
  if (dir == nullptr) return {};
  std::ifstream in(std::string(dir) + "/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<Section> sections(1);
  bool in_code = false;
  bool header_next = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) in_code = !in_code;
    if (!in_code && line.rfind("#", 0) == 0) {
      const auto level = static_cast<int>(line.find_first_not_of('#'));
      sections.push_back({level, Trim(line.substr(static_cast<std::size_t>(level))), {}, ""});
      header_next = true;
      continue;
    }
    sections.back().text += line + "\n";
    if (in_code || line.rfind("|", 0) != 0) {
      header_next = true;
      continue;
    }
    if (header_next || line.rfind("|---", 0) == 0) {  // a table's header, then its separator
      header_next = false;
      continue;
    }
    sections.back().rows.push_back(Cells(line));
  }
  return sections;
}

// The names a cell documents: "`a`", "`a` / `b`", "`a`, `b`" -> {a, b}.
std::vector<std::string> Names(const std::string& cell) {
  std::vector<std::string> out;
  for (std::size_t b = cell.find('`'); b != std::string::npos; b = cell.find('`', b + 1)) {
    const std::size_t e = cell.find('`', b + 1);
    if (e == std::string::npos) break;
    out.push_back(cell.substr(b + 1, e - b - 1));
    b = e;
  }
  return out;
}

std::string DocType(const OptionSpec& spec) {
  switch (spec.kind) {
    case OptionKind::kValue:
      switch (spec.default_value.index()) {
        case 0: return "boolean";
        case 1: return "integer";
        case 2: return "number";
        default: return "string";
      }
    case OptionKind::kDuration: return "duration";
    case OptionKind::kByteSize: return "byte size";
    case OptionKind::kName:
    case OptionKind::kPath: return "string";
    case OptionKind::kStringList: return "array of strings";
    case OptionKind::kTable: return "table";
  }
  return "";
}

// The default as docs/config.md writes it ("" when the text is free: "none", "driver's default").
std::string DocDefault(const OptionSpec& spec) {
  if (spec.required) return "required";
  if (const auto* text = std::get_if<std::string>(&spec.default_value)) {
    if (text->empty()) return "";
    if ((spec.kind == OptionKind::kDuration || spec.kind == OptionKind::kByteSize) &&
        *text == "0") {
      return "`0`";
    }
    if (spec.kind == OptionKind::kStringList || spec.kind == OptionKind::kTable) {
      return "`" + *text + "`";
    }
    return "`\"" + *text + "\"`";
  }
  return "`" + FormatOptionValue(spec.default_value) + "`";
}

const Section* FindSection(const std::vector<Section>& sections, const std::string& needle) {
  for (const auto& s : sections) {
    if (s.heading.find(needle) != std::string::npos) return &s;
  }
  return nullptr;
}

class DocsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("ARROWDAQ_DOCS_DIR") == nullptr) {
      GTEST_SKIP() << "ARROWDAQ_DOCS_DIR not set (run through ctest)";
    }
  }
};

TEST_F(DocsTest, EveryConfigKeyIsDocumentedWithItsTypeAndDefault) {
  const auto sections = ReadSections("config.md");
  for (const auto& table : config::ConfigTables()) {
    const std::string heading =
        table.array_of_tables ? "`[[" + table.name + "]]`" : "`[" + table.name + "]`";
    const Section* section = FindSection(sections, heading);
    ASSERT_NE(section, nullptr) << "docs/config.md has no section " << heading;
    std::map<std::string, std::vector<std::string>> documented;
    for (const auto& row : section->rows) {
      ASSERT_GE(row.size(), 4u) << heading;
      ASSERT_EQ(Names(row[0]).size(), 1u) << heading << ": " << row[0];
      documented[Names(row[0])[0]] = row;
    }
    std::set<std::string> declared;
    for (const auto& key : table.keys) {
      declared.insert(key.name);
      const auto it = documented.find(key.name);
      if (it == documented.end()) {
        ADD_FAILURE() << table.name << "." << key.name << " is not documented under " << heading;
        continue;
      }
      EXPECT_EQ(it->second[1], DocType(key)) << table.name << "." << key.name;
      const std::string d = DocDefault(key);
      if (!d.empty()) {
        EXPECT_EQ(it->second[2], d) << table.name << "." << key.name;
      }
    }
    for (const auto& [name, row] : documented) {
      EXPECT_TRUE(declared.count(name)) << heading << " documents `" << name
                                        << "`, which the parser does not accept";
    }
  }
}

TEST_F(DocsTest, EveryProcessorKindAndOptionIsDocumented) {
  const auto sections = ReadSections("config.md");
  for (const auto& kind : pipeline::ProcessorKinds()) {
    const Section* section = FindSection(sections, "`" + kind + "`:");
    ASSERT_NE(section, nullptr) << "docs/config.md has no section for processor kind " << kind;
    const auto specs = pipeline::ProcessorOptionSpecs(kind).ValueOrDie();
    std::map<std::string, std::vector<std::string>> documented;
    for (const auto& row : section->rows) {
      if (row.size() == 5) documented[Names(row[0]).at(0)] = row;  // option tables only
    }
    std::set<std::string> declared;
    for (const auto& spec : specs) {
      declared.insert(spec.name);
      const auto it = documented.find(spec.name);
      if (it == documented.end()) {
        ADD_FAILURE() << "processor option " << kind << "." << spec.name << " is not documented";
        continue;
      }
      EXPECT_EQ(it->second[1], DocType(spec)) << kind << "." << spec.name;
      EXPECT_EQ(it->second[2], "`" + FormatOptionValue(spec.default_value) + "`")
          << kind << "." << spec.name;
      EXPECT_EQ(it->second[3], spec.unit) << kind << "." << spec.name;
    }
    for (const auto& [name, row] : documented) {
      EXPECT_TRUE(declared.count(name)) << "docs/config.md documents " << kind << " option `"
                                        << name << "`, which the processor does not accept";
    }
  }
  // The stats columns as documented are the columns a stats processor makes.
  const Section* stats = FindSection(sections, "`stats`:");
  ASSERT_NE(stats, nullptr);
  std::vector<std::string> columns;
  for (const auto& row : stats->rows) {
    if (row.size() == 2) columns.push_back(Names(row[0]).at(0));
  }
  EXPECT_EQ(columns, (std::vector<std::string>{"<channel>_min", "<channel>_max",
                                                "<channel>_mean", "<channel>_std",
                                                "<channel>_rms"}));
}

// docs/instruments.md: a driver's section is the one whose heading names it in backticks (down
// to the next heading of the same level); the options of device drivers shared by all of them
// are in "Common driver options". Every option a driver declares appears there in backticks,
// and every option a table there lists is declared by a driver the section is about.
TEST_F(DocsTest, EveryDriverOptionIsDocumented) {
  const auto sections = ReadSections("instruments.md");
  std::string common;
  std::set<std::string> common_names;
  if (const Section* s = FindSection(sections, "Common driver options")) {
    common = s->text;
    for (const auto& row : s->rows) {
      for (const auto& n : Names(row.at(0))) common_names.insert(n);
    }
  }
  const auto drivers = instruments::DriverRegistry::Default().List();
  for (std::size_t i = 0; i < sections.size(); ++i) {
    std::vector<const instruments::DriverInfo*> about;
    for (const auto* d : drivers) {
      if (sections[i].heading.find("`" + d->name + "`") != std::string::npos) about.push_back(d);
    }
    if (about.empty()) continue;
    std::string text = sections[i].text;
    std::vector<std::vector<std::string>> rows = sections[i].rows;
    for (std::size_t j = i + 1; j < sections.size() && sections[j].level > sections[i].level;
         ++j) {
      text += sections[j].text;
      rows.insert(rows.end(), sections[j].rows.begin(), sections[j].rows.end());
    }
    std::set<std::string> declared;
    for (const auto* d : about) {
      for (const auto& spec : d->options) {
        declared.insert(spec.name);
        const std::string quoted = "`" + spec.name + "`";
        EXPECT_TRUE(text.find(quoted) != std::string::npos ||
                    (common_names.count(spec.name) != 0))
            << "docs/instruments.md does not document option " << quoted << " of " << d->name;
      }
    }
    for (const auto& row : rows) {
      if (row.empty()) continue;
      for (const auto& name : Names(row[0])) {
        EXPECT_TRUE(declared.count(name)) << "docs/instruments.md (" << sections[i].heading
                                          << ") documents option `" << name
                                          << "`, which no driver of that section declares";
      }
    }
  }
  // Every driver has a section.
  for (const auto* d : drivers) {
    EXPECT_NE(FindSection(sections, "`" + d->name + "`"), nullptr)
        << "docs/instruments.md has no section for driver " << d->name;
  }
}

}  // namespace
}  // namespace arrowdaq
