// SPDX-License-Identifier: BSD-3-Clause
// Checks the generated error tables (tools/gen_errors.py): their invariants,
// and the mappings everything else relies on.
#include "tables/error_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "gort.h"
#include "gort/error_codes.h"

namespace gort::internal {
namespace {

struct NamedTable {
  const char* name;
  const ErrorTable* table;
};

const NamedTable kAllTables[] = {
    {"portable", &kPortableErrors},
    {"linux", &kLinuxErrors},
    {"darwin", &kDarwinErrors},
    {"windows", &kWindowsErrors},
};

// The entry with raw value `raw`, or nullptr.
const ErrorEntry* Find(const ErrorTable& table, int64_t raw) {
  for (size_t i = 0; i < table.size; ++i) {
    if (table.entries[i].raw == raw) return &table.entries[i];
  }
  return nullptr;
}

// Expects `table` to hold raw value `raw` named `name`, mapping to `portable`.
void ExpectEntry(const ErrorTable& table, int64_t raw, const char* name,
                 int portable) {
  SCOPED_TRACE(name);
  const ErrorEntry* e = Find(table, raw);
  ASSERT_NE(e, nullptr) << "no raw value " << raw;
  EXPECT_STREQ(e->name, name);
  EXPECT_EQ(e->portable, portable);
}

TEST(ErrorTablesTest, NotEmpty) {
  for (const NamedTable& t : kAllTables) {
    EXPECT_GT(t.table->size, 0u) << t.name;
    EXPECT_NE(t.table->entries, nullptr) << t.name;
  }
}

TEST(ErrorTablesTest, SortedStrictlyAscendingByRaw) {
  for (const NamedTable& t : kAllTables) {
    for (size_t i = 1; i < t.table->size; ++i) {
      EXPECT_LT(t.table->entries[i - 1].raw, t.table->entries[i].raw)
          << t.name << " at " << i << " (" << t.table->entries[i].name << ")";
    }
  }
}

TEST(ErrorTablesTest, EveryEntryHasANameAndAMessage) {
  for (const NamedTable& t : kAllTables) {
    for (size_t i = 0; i < t.table->size; ++i) {
      const ErrorEntry& e = t.table->entries[i];
      ASSERT_NE(e.name, nullptr) << t.name << " raw " << e.raw;
      ASSERT_NE(e.message, nullptr) << t.name << " raw " << e.raw;
      EXPECT_GT(std::strlen(e.name), 0u) << t.name << " raw " << e.raw;
      EXPECT_GT(std::strlen(e.message), 0u) << t.name << " " << e.name;
    }
  }
}

TEST(ErrorTablesTest, MessagesAreLowerCaseWithoutTrailingPeriod) {
  for (const NamedTable& t : kAllTables) {
    for (size_t i = 0; i < t.table->size; ++i) {
      const ErrorEntry& e = t.table->entries[i];
      std::string m = e.message;
      EXPECT_NE(m.back(), '.') << t.name << " " << e.name;
      // A leading capital only starts an acronym: "I/O error", "RPC struct
      // is bad", "QoS senders".
      std::string first = m.substr(0, m.find(' '));
      int capitals = 0;
      for (char c : first) capitals += c >= 'A' && c <= 'Z';
      if (m[0] >= 'A' && m[0] <= 'Z') {
        EXPECT_TRUE(capitals >= 2 || first.find('/') != std::string::npos)
            << t.name << " " << e.name << ": " << m;
      }
    }
  }
}

TEST(ErrorTablesTest, PortableTableIsItsOwnMapping) {
  for (size_t i = 0; i < kPortableErrors.size; ++i) {
    const ErrorEntry& e = kPortableErrors.entries[i];
    EXPECT_EQ(e.raw, e.portable) << e.name;
    EXPECT_LT(e.raw, 0) << e.name;
    EXPECT_NE(std::strncmp(e.name, "GORT_", 5), 0) << e.name;
  }
  ExpectEntry(kPortableErrors, GORT_ENOENT, "ENOENT", GORT_ENOENT);
  ExpectEntry(kPortableErrors, GORT_EAUTH, "EAUTH", GORT_EAUTH);
  ExpectEntry(kPortableErrors, GORT_EUNKNOWN, "EUNKNOWN", GORT_EUNKNOWN);
  ExpectEntry(kPortableErrors, GORT_EOF, "EOF", GORT_EOF);
  EXPECT_EQ(Find(kPortableErrors, GORT_OK), nullptr);
  EXPECT_EQ(kPortableErrors.entries[0].raw, GORT_EOF);
}

TEST(ErrorTablesTest, PortableCodeValues) {
  EXPECT_EQ(GORT_OK, 0);
  EXPECT_EQ(GORT_EPERM, -1);
  EXPECT_EQ(GORT_ENOENT, -2);
  EXPECT_EQ(GORT_ECONNRESET, -104);
  EXPECT_EQ(GORT_EHWPOISON, -133);
  EXPECT_EQ(GORT_EAUTH, -1080);  // Darwin-only: -(1000 + 80)
  EXPECT_EQ(GORT_EUNKNOWN, -4094);
  EXPECT_EQ(GORT_EOF, -4095);
  EXPECT_EQ(GORT_EWOULDBLOCK, GORT_EAGAIN);
  EXPECT_EQ(GORT_EDEADLOCK, GORT_EDEADLK);
  EXPECT_EQ(GORT_ENOTSUP, GORT_EOPNOTSUPP);
  // -4000..-4093 are reserved.
  for (size_t i = 0; i < kPortableErrors.size; ++i) {
    int64_t raw = kPortableErrors.entries[i].raw;
    EXPECT_FALSE(raw <= -4000 && raw > GORT_EUNKNOWN) << raw;
  }
}

TEST(ErrorTablesTest, EveryMappingIsAPortableCode) {
  for (const NamedTable& t : kAllTables) {
    for (size_t i = 0; i < t.table->size; ++i) {
      const ErrorEntry& e = t.table->entries[i];
      if (e.portable == GORT_OK || e.portable == GORT_EUNKNOWN) continue;
      EXPECT_NE(Find(kPortableErrors, e.portable), nullptr)
          << t.name << " " << e.name << " -> " << e.portable;
    }
  }
}

TEST(ErrorTablesTest, OnlySuccessMapsToOk) {
  for (const NamedTable& t : kAllTables) {
    for (size_t i = 0; i < t.table->size; ++i) {
      const ErrorEntry& e = t.table->entries[i];
      EXPECT_EQ(e.portable == GORT_OK, e.raw == 0) << t.name << " " << e.name;
    }
  }
}

TEST(ErrorTablesTest, NamesAreUniquePerTable) {
  for (const NamedTable& t : kAllTables) {
    std::set<std::string> names;
    for (size_t i = 0; i < t.table->size; ++i) {
      EXPECT_TRUE(names.insert(t.table->entries[i].name).second)
          << t.name << " " << t.table->entries[i].name;
    }
  }
}

TEST(ErrorTablesTest, UnixNamesMapToTheirNamesake) {
  // Every Linux or Darwin errno maps to the portable code of the same name
  // (Darwin's ENOTSUP to GORT_EOPNOTSUPP, which GORT_ENOTSUP aliases).
  for (const ErrorTable* table : {&kLinuxErrors, &kDarwinErrors}) {
    for (size_t i = 0; i < table->size; ++i) {
      const ErrorEntry& e = table->entries[i];
      const ErrorEntry* p = Find(kPortableErrors, e.portable);
      ASSERT_NE(p, nullptr) << e.name;
      if (std::strcmp(e.name, "ENOTSUP") == 0) {
        EXPECT_STREQ(p->name, "EOPNOTSUPP");
      } else {
        EXPECT_STREQ(p->name, e.name);
      }
    }
  }
}

TEST(ErrorTablesTest, Linux) {
  ExpectEntry(kLinuxErrors, 1, "EPERM", GORT_EPERM);
  ExpectEntry(kLinuxErrors, 2, "ENOENT", GORT_ENOENT);
  ExpectEntry(kLinuxErrors, 11, "EAGAIN", GORT_EAGAIN);    // not EWOULDBLOCK
  ExpectEntry(kLinuxErrors, 35, "EDEADLK", GORT_EDEADLK);  // not EDEADLOCK
  ExpectEntry(kLinuxErrors, 95, "EOPNOTSUPP", GORT_EOPNOTSUPP);
  ExpectEntry(kLinuxErrors, 104, "ECONNRESET", GORT_ECONNRESET);
  ExpectEntry(kLinuxErrors, 133, "EHWPOISON", GORT_EHWPOISON);
  EXPECT_EQ(Find(kLinuxErrors, 41), nullptr);  // unused in asm-generic
  EXPECT_STREQ(Find(kLinuxErrors, 104)->message, "connection reset by peer");
  // Linux values are the portable ones, negated.
  for (size_t i = 0; i < kLinuxErrors.size; ++i) {
    EXPECT_EQ(kLinuxErrors.entries[i].portable, -kLinuxErrors.entries[i].raw)
        << kLinuxErrors.entries[i].name;
  }
}

TEST(ErrorTablesTest, Darwin) {
  ExpectEntry(kDarwinErrors, 2, "ENOENT", GORT_ENOENT);
  ExpectEntry(kDarwinErrors, 11, "EDEADLK", GORT_EDEADLK);
  ExpectEntry(kDarwinErrors, 35, "EAGAIN", GORT_EAGAIN);
  ExpectEntry(kDarwinErrors, 45, "ENOTSUP", GORT_EOPNOTSUPP);
  ExpectEntry(kDarwinErrors, 54, "ECONNRESET", GORT_ECONNRESET);
  ExpectEntry(kDarwinErrors, 80, "EAUTH", GORT_EAUTH);
  ExpectEntry(kDarwinErrors, 102, "EOPNOTSUPP", GORT_EOPNOTSUPP);
  ExpectEntry(kDarwinErrors, 106, "EQFULL", GORT_EQFULL);
}

TEST(ErrorTablesTest, Windows) {
  const ErrorTable& w = kWindowsErrors;
  ExpectEntry(w, 0, "ERROR_SUCCESS", GORT_OK);
  ExpectEntry(w, 2, "ERROR_FILE_NOT_FOUND", GORT_ENOENT);
  ExpectEntry(w, 3, "ERROR_PATH_NOT_FOUND", GORT_ENOENT);
  ExpectEntry(w, 5, "ERROR_ACCESS_DENIED", GORT_EACCES);
  ExpectEntry(w, 6, "ERROR_INVALID_HANDLE", GORT_EBADF);
  ExpectEntry(w, 38, "ERROR_HANDLE_EOF", GORT_EOF);
  ExpectEntry(w, 50, "ERROR_NOT_SUPPORTED", GORT_ENOTSUP);
  ExpectEntry(w, 80, "ERROR_FILE_EXISTS", GORT_EEXIST);
  ExpectEntry(w, 109, "ERROR_BROKEN_PIPE", GORT_EPIPE);
  ExpectEntry(w, 183, "ERROR_ALREADY_EXISTS", GORT_EEXIST);
  ExpectEntry(w, 258, "WAIT_TIMEOUT", GORT_ETIMEDOUT);
  ExpectEntry(w, 995, "ERROR_OPERATION_ABORTED", GORT_ECANCELED);
  ExpectEntry(w, 10035, "WSAEWOULDBLOCK", GORT_EAGAIN);
  ExpectEntry(w, 10048, "WSAEADDRINUSE", GORT_EADDRINUSE);
  ExpectEntry(w, 10054, "WSAECONNRESET", GORT_ECONNRESET);
  ExpectEntry(w, 10061, "WSAECONNREFUSED", GORT_ECONNREFUSED);
  ExpectEntry(w, 10067, "WSAEPROCLIM", GORT_EPROCLIM);
  ExpectEntry(w, 10093, "WSANOTINITIALISED", GORT_EUNKNOWN);
  ExpectEntry(w, 11001, "WSAHOST_NOT_FOUND", GORT_EUNKNOWN);
  EXPECT_STREQ(Find(w, 2)->message, "file not found");
  EXPECT_STREQ(Find(w, 10054)->message, "connection reset by peer");
}

// Aliases: each names a value of its table, is no entry's own name, and
// appears once; the list is sorted by value, then name.
TEST(ErrorTablesTest, AliasesNameValuesOfTheirTable) {
  for (const NamedTable& t : kAllTables) {
    std::set<std::string> names;
    for (size_t i = 0; i < t.table->size; ++i) {
      names.insert(t.table->entries[i].name);
    }
    EXPECT_GT(t.table->alias_count, 0u) << t.name;
    for (size_t i = 0; i < t.table->alias_count; ++i) {
      const ErrorAlias& a = t.table->aliases[i];
      SCOPED_TRACE(std::string(t.name) + " " + a.name);
      EXPECT_NE(Find(*t.table, a.raw), nullptr);
      EXPECT_TRUE(names.insert(a.name).second) << "a second " << a.name;
      if (i > 0) {
        const ErrorAlias& b = t.table->aliases[i - 1];
        EXPECT_TRUE(b.raw < a.raw ||
                    (b.raw == a.raw && std::strcmp(b.name, a.name) < 0));
      }
    }
  }
}

// Every alias round-trips through the C ABI: found by name with its own
// name, its value's raw value, message and portable code; listed by
// gort_syserr_alias_at in table order.
TEST(ErrorTablesTest, AliasesRoundTrip) {
  const int kSpaces[] = {GORT_ERRSPACE_PORTABLE, GORT_ERRSPACE_LINUX,
                         GORT_ERRSPACE_DARWIN, GORT_ERRSPACE_WINDOWS};
  for (size_t s = 0; s < 4; ++s) {
    const ErrorTable& table = *kAllTables[s].table;
    size_t i = 0;
    gort_syserr_t listed = {};
    listed.size = sizeof(listed);
    for (; gort_syserr_alias_at(kSpaces[s], i, &listed) == 0; ++i) {
      ASSERT_LT(i, table.alias_count);
      SCOPED_TRACE(std::string(kAllTables[s].name) + " " + listed.name);
      EXPECT_STREQ(listed.name, table.aliases[i].name);
      gort_syserr_t by_name = {}, by_raw = {};
      by_name.size = by_raw.size = sizeof(gort_syserr_t);
      ASSERT_EQ(gort_syserr_by_name(kSpaces[s], listed.name, &by_name), 0);
      ASSERT_EQ(gort_syserr_lookup(kSpaces[s], listed.raw, &by_raw), 0);
      EXPECT_STREQ(by_name.name, listed.name);
      EXPECT_EQ(by_name.raw, table.aliases[i].raw);
      EXPECT_EQ(by_name.raw, by_raw.raw);
      EXPECT_EQ(by_name.code, by_raw.code);
      EXPECT_EQ(listed.code, by_raw.code);
      EXPECT_STREQ(by_name.message, by_raw.message);
      EXPECT_STRNE(by_raw.name, listed.name);  // the value's first name
    }
    EXPECT_EQ(i, table.alias_count) << kAllTables[s].name;
    EXPECT_EQ(gort_syserr_alias_at(kSpaces[s], i, &listed), GORT_ERANGE);
  }
  EXPECT_EQ(gort_syserr_alias_at(42, 0, nullptr), GORT_EINVAL);
}

// The aliases users look up by name.
TEST(ErrorTablesTest, KnownAliases) {
  struct Want {
    int space;
    const char* alias;
    int64_t raw;
    const char* canonical;
    int code;
  };
  const Want kWant[] = {
      {GORT_ERRSPACE_LINUX, "EWOULDBLOCK", 11, "EAGAIN", GORT_EAGAIN},
      {GORT_ERRSPACE_LINUX, "EDEADLOCK", 35, "EDEADLK", GORT_EDEADLK},
      {GORT_ERRSPACE_LINUX, "ENOTSUP", 95, "EOPNOTSUPP", GORT_EOPNOTSUPP},
      {GORT_ERRSPACE_DARWIN, "EWOULDBLOCK", 35, "EAGAIN", GORT_EAGAIN},
      {GORT_ERRSPACE_DARWIN, "ELAST", 106, "EQFULL", GORT_EQFULL},
      {GORT_ERRSPACE_WINDOWS, "WSA_IO_PENDING", 997, "ERROR_IO_PENDING",
       GORT_EINPROGRESS},
      {GORT_ERRSPACE_WINDOWS, "WSA_OPERATION_ABORTED", 995,
       "ERROR_OPERATION_ABORTED", GORT_ECANCELED},
      {GORT_ERRSPACE_WINDOWS, "WSA_INVALID_HANDLE", 6, "ERROR_INVALID_HANDLE",
       GORT_EBADF},
      {GORT_ERRSPACE_WINDOWS, "WSA_WAIT_TIMEOUT", 258, "WAIT_TIMEOUT",
       GORT_ETIMEDOUT},
      {GORT_ERRSPACE_WINDOWS, "WSANO_ADDRESS", 11004, "WSANO_DATA",
       GORT_EUNKNOWN},
      {GORT_ERRSPACE_WINDOWS, "NO_ERROR", 0, "ERROR_SUCCESS", GORT_OK},
      {GORT_ERRSPACE_PORTABLE, "EWOULDBLOCK", GORT_EAGAIN, "EAGAIN",
       GORT_EAGAIN},
      {GORT_ERRSPACE_PORTABLE, "ENOTSUP", GORT_EOPNOTSUPP, "EOPNOTSUPP",
       GORT_EOPNOTSUPP},
      {GORT_ERRSPACE_PORTABLE, "EDEADLOCK", GORT_EDEADLK, "EDEADLK",
       GORT_EDEADLK},
  };
  for (const Want& w : kWant) {
    SCOPED_TRACE(w.alias);
    gort_syserr_t e = {}, c = {};
    e.size = c.size = sizeof(gort_syserr_t);
    ASSERT_EQ(gort_syserr_by_name(w.space, w.alias, &e), 0);
    EXPECT_STREQ(e.name, w.alias);
    EXPECT_EQ(e.raw, w.raw);
    EXPECT_EQ(e.code, w.code);
    ASSERT_EQ(gort_syserr_by_name(w.space, w.canonical, &c), 0);
    EXPECT_STREQ(c.name, w.canonical);
    EXPECT_EQ(c.raw, w.raw);
    EXPECT_EQ(c.code, w.code);
  }
  // Darwin's ENOTSUP and EOPNOTSUPP are two values, not aliases.
  gort_syserr_t e = {};
  e.size = sizeof(e);
  ASSERT_EQ(gort_syserr_by_name(GORT_ERRSPACE_DARWIN, "ENOTSUP", &e), 0);
  EXPECT_EQ(e.raw, 45);
  ASSERT_EQ(gort_syserr_by_name(GORT_ERRSPACE_DARWIN, "EOPNOTSUPP", &e), 0);
  EXPECT_EQ(e.raw, 102);
}

}  // namespace
}  // namespace gort::internal
