// tests/unit/leveldb_oracle.cc — Debian's libleveldb as an independent SSTable oracle for
// test_sstable_leveldb.c. leveldb's C API (leveldb/c.h) only opens whole databases, whose keys
// carry an 8-byte sequence/type suffix, so it cannot read a bare table; leveldb::Table and
// leveldb::TableBuilder are C++ only. This file wraps the two behind a C interface.
#include <leveldb/comparator.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <leveldb/table_builder.h>

#include <cstdio>
#include <memory>
#include <string>

extern "C" {
typedef void (*lvo_visit_fn)(void *ctx, const char *key, size_t key_len, const char *val,
                             size_t val_len);
int lvo_scan(const char *path, lvo_visit_fn visit, void *ctx, char *msg, size_t msg_cap);
int lvo_build(const char *path, size_t n, const char *const *keys, const size_t *key_lens,
              const char *const *vals, const size_t *val_lens, size_t block_size, int snappy,
              char *msg, size_t msg_cap);
}

static int fail(char *msg, size_t cap, const std::string &what) {
    std::snprintf(msg, cap, "%s", what.c_str());
    return -1;
}

// Walks every entry with checksums verified, then Seeks each key back through the index (which
// exercises the separators) and checks it lands on the same entry.
int lvo_scan(const char *path, lvo_visit_fn visit, void *ctx, char *msg, size_t msg_cap) {
    leveldb::Env *env = leveldb::Env::Default();
    uint64_t size = 0;
    leveldb::Status s = env->GetFileSize(path, &size);
    if (!s.ok()) return fail(msg, msg_cap, s.ToString());
    leveldb::RandomAccessFile *raw = nullptr;
    s = env->NewRandomAccessFile(path, &raw);
    if (!s.ok()) return fail(msg, msg_cap, s.ToString());
    std::unique_ptr<leveldb::RandomAccessFile> file(raw);
    leveldb::Options opt;
    opt.paranoid_checks = true;
    leveldb::Table *t = nullptr;
    s = leveldb::Table::Open(opt, file.get(), size, &t);
    if (!s.ok()) return fail(msg, msg_cap, s.ToString());
    std::unique_ptr<leveldb::Table> table(t);
    leveldb::ReadOptions ro;
    ro.verify_checksums = true;
    std::unique_ptr<leveldb::Iterator> it(table->NewIterator(ro));
    std::unique_ptr<leveldb::Iterator> seek(table->NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        leveldb::Slice k = it->key(), v = it->value();
        seek->Seek(k);
        if (!seek->Valid() || seek->key() != k || seek->value() != v)
            return fail(msg, msg_cap, "Seek(" + k.ToString() + ") did not find the entry");
        visit(ctx, k.data(), k.size(), v.data(), v.size());
    }
    if (!it->status().ok()) return fail(msg, msg_cap, it->status().ToString());
    return 0;
}

// Builds a table with leveldb's own TableBuilder (keys must be sorted).
int lvo_build(const char *path, size_t n, const char *const *keys, const size_t *key_lens,
              const char *const *vals, const size_t *val_lens, size_t block_size, int snappy,
              char *msg, size_t msg_cap) {
    leveldb::Env *env = leveldb::Env::Default();
    leveldb::WritableFile *raw = nullptr;
    leveldb::Status s = env->NewWritableFile(path, &raw);
    if (!s.ok()) return fail(msg, msg_cap, s.ToString());
    std::unique_ptr<leveldb::WritableFile> file(raw);
    leveldb::Options opt;
    opt.block_size = block_size;
    opt.compression = snappy ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    leveldb::TableBuilder b(opt, file.get());
    for (size_t i = 0; i < n; i++)
        b.Add(leveldb::Slice(keys[i], key_lens[i]), leveldb::Slice(vals[i], val_lens[i]));
    s = b.Finish();
    if (s.ok()) s = file->Close();
    if (!s.ok()) return fail(msg, msg_cap, s.ToString());
    return 0;
}
