// A RocksDB memtable for a family read only by point lookups of random keys (the messages
// family: messageIds, which SDKs make UUIDs).
//
// RocksDB's default memtable is a skip list: each insert of a random key walks it from the
// top, and in a memtable of a few hundred thousand keys that the caches do not hold, that
// walk was 2.3 µs an insert, more than half of the store thread's time under durable
// ingest (docs/benchmarks.md). This memtable keeps its entries unsorted, in arrival order,
// with a hash index of their user keys for lookups, and sorts them once, as an array, when
// it is flushed (or when an iterator asks for order). Inserts cost a hash insert.
//
// Why hand-written: RocksDB's own alternatives do not fit. VectorRep sorts at flush too but
// copies and sorts the whole memtable on every lookup of a key it may hold; the hash skip
// list and hash link list sort themselves into a skip list at flush, one random insert per
// key, which only moves the cost to the flush thread.
//
// Point lookups (Get, MultiGet) are answered from the index; an iterator over a memtable
// still written to copies and sorts its entries, so keep them rare on such a family.
// Requires DBOptions::allow_concurrent_memtable_write = false (RocksDB checks it at open).
// Built for RocksDB 7.8 (Debian 12); see unsorted_memtable.cc. The build compiles and uses
// it only where RocksDB is 7.8 (SEGMENTA_UNSORTED_MEMTABLE in CMakeLists.txt); elsewhere the
// family has RocksDB's standard skip list.
#pragma once

#include <memory>

#include "rocksdb/memtablerep.h"

namespace segmenta {

// A factory for ColumnFamilyOptions::memtable_factory.
std::shared_ptr<rocksdb::MemTableRepFactory> NewUnsortedMemTableFactory();

}  // namespace segmenta
