// elfutils 0.192's libelf.a and libdw.a call eu_tsearch() and its siblings, which live in the
// libeu helper library that Debian 13 does not ship as an archive: a static create-diff-object
// would call address 0 on its first elf_begin(). These are elfutils' own definitions
// (lib/eu-search.c) minus the lock: create-diff-object opens and reads its objects on one
// thread, and the tree's root is the first member whether or not elfutils was built with locks.
// Linked only when CMake finds a static libelf that lacks them (KLP_EU_SEARCH_SHIM).
#include <search.h>
#include <stddef.h>

typedef struct {
  void *root;
} search_tree;

typedef int (*compare_fn)(const void *, const void *);

void *eu_tsearch(const void *key, search_tree *tree, compare_fn compare) {
  return tsearch(key, &tree->root, compare);
}

void *eu_tfind(const void *key, search_tree *tree, compare_fn compare) {
  return tfind(key, &tree->root, compare);
}

void *eu_tdelete(const void *key, search_tree *tree, compare_fn compare) {
  return tdelete(key, &tree->root, compare);
}

void eu_search_tree_init(search_tree *tree) { tree->root = NULL; }

void eu_search_tree_fini(search_tree *tree) { (void)tree; }
