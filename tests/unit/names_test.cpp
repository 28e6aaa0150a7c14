// The name conventions the correlation sees through (names.h), one compiler or kernel habit a
// case: two builds' names for the same entity share a key, different entities do not.
#include <gtest/gtest.h>

#include "names.h"

using namespace klp;

TEST(Names, CorrelationKeyDropsCompilerNumbering) {
  // GCC IPA clones are renumbered between builds (foo.isra.0 becomes foo.isra.1).
  EXPECT_EQ(correlation_key("foo.isra.0"), correlation_key("foo.isra.1"));
  EXPECT_EQ(correlation_key("foo.constprop.0"), correlation_key("foo.constprop.3"));
  EXPECT_EQ(correlation_key("foo.part.1"), correlation_key("foo.part.12"));
  // Nested clones keep their structure.
  EXPECT_EQ(correlation_key("foo.isra.0.cold"), correlation_key("foo.isra.2.cold"));
  EXPECT_EQ(correlation_key("foo.constprop.0.isra.0"), correlation_key("foo.constprop.1.isra.4"));
  // GCC < 10 numbered cold parts; 10+ does not.
  EXPECT_EQ(correlation_key("foo.cold.7"), correlation_key("foo.cold.2"));
  // Function-local statics.
  EXPECT_EQ(correlation_key("counter.12"), correlation_key("counter.3"));
  // clang ThinLTO promotion suffixes.
  EXPECT_EQ(correlation_key("foo.llvm.8234923"), correlation_key("foo.llvm.1"));
  // __UNIQUE_ID_ takes __COUNTER__.
  EXPECT_EQ(correlation_key("__UNIQUE_ID_ddebug412"), correlation_key("__UNIQUE_ID_ddebug7"));
}

TEST(Names, CorrelationKeyKeepsDifferentEntitiesApart) {
  // Different kinds of clone of one function are different code.
  EXPECT_NE(correlation_key("foo.isra.0"), correlation_key("foo.constprop.0"));
  EXPECT_NE(correlation_key("foo.isra.0"), correlation_key("foo"));
  EXPECT_NE(correlation_key("foo.cold"), correlation_key("foo"));
  // Different functions, whatever their numbering.
  EXPECT_NE(correlation_key("foo.isra.0"), correlation_key("bar.isra.0"));
  EXPECT_NE(correlation_key("__UNIQUE_ID_ddebug1"), correlation_key("__UNIQUE_ID_other1"));
  // A plain name is its own key.
  EXPECT_EQ(correlation_key("cmdline_proc_show"), "cmdline_proc_show");
}

TEST(Names, ColdAndPartChildrenNameTheirParent) {
  EXPECT_TRUE(is_cold_part("foo.cold"));
  EXPECT_TRUE(is_cold_part("foo.cold.3"));
  EXPECT_FALSE(is_cold_part("cold_boot"));
  EXPECT_TRUE(is_partial_inline_part("foo.part.0"));
  EXPECT_FALSE(is_partial_inline_part("foo.isra.0"));
  EXPECT_EQ(child_parent_name("foo.isra.0.cold"), "foo.isra.0");
  EXPECT_EQ(child_parent_name("foo.part.1"), "foo");
  EXPECT_EQ(child_parent_name("foo"), "");
}

TEST(Names, SpecialStaticsAreTheKernelsPerCallSiteState) {
  for (const char *n : {"__key.12", "__warned.3", "__already_done.7", "__func__.1", "_rs.4",
                        "CSWTCH.55", "__print_once.2"})
    EXPECT_TRUE(is_special_static_name(n)) << n;
  for (const char *n : {"counter.12", "key", "warned", "my_rs"})
    EXPECT_FALSE(is_special_static_name(n)) << n;
  EXPECT_TRUE(is_special_static_section(".data.once"));
  EXPECT_FALSE(is_special_static_section(".data"));
  EXPECT_EQ(static_local_base("counter.12"), "counter");
  EXPECT_EQ(static_local_base("counter"), "");
}
