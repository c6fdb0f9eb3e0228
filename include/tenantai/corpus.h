// The corpus layer: each tenant's documents and vectors, durable (system of record).
#pragma once

#include "tenantai/corpus/corpus_store.h"
#include "tenantai/corpus/file_corpus_store.h"
