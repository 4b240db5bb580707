/* A stand-in for libnccl.so.2 with NCCL's C ABI, for checking dlcore's ctypes binding on a
 * machine without a GPU: one rank, host pointers; each collective does what NCCL does for a
 * world of one (the result is the input), and records its arguments for the test to read. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { char internal[128]; } ncclUniqueId;
typedef void* ncclComm_t;

static char issued_id[128];
static int comm_token;

/* the last call, read by the test through ctypes */
int last_nranks = -1, last_rank = -1, last_id_ok = 0, last_dtype = -1, last_op = -1, last_root = -1;
size_t last_count = 0;
void* last_stream = (void*)1;

static size_t elem_size(int dtype) {
  switch (dtype) { case 0: case 1: return 1; case 2: case 3: return 4; case 4: case 5: return 8;
                   case 6: case 9: return 2; case 7: return 4; case 8: return 8; default: return 0; }
}

const char* ncclGetErrorString(int result) { return result ? "fake error" : "no error"; }
int ncclGetVersion(int* v) { *v = 22703; return 0; }
int ncclGetUniqueId(ncclUniqueId* id) {
  for (int i = 0; i < 128; ++i) issued_id[i] = (char)(i * 7 + 3);
  memcpy(id->internal, issued_id, 128);
  return 0;
}
int ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  last_nranks = nranks; last_rank = rank;
  last_id_ok = memcmp(id.internal, issued_id, 128) == 0;   /* the struct arrived by value, intact */
  *comm = &comm_token;
  return nranks == 1 && rank == 0 ? 0 : 4;
}
int ncclCommDestroy(ncclComm_t comm) { return comm == &comm_token ? 0 : 4; }
int ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }
int ncclCommGetAsyncError(ncclComm_t comm, int* err) { (void)comm; *err = 0; return 0; }

static int record(const void* s, void* r, size_t count, int dtype, int op, ncclComm_t comm, void* stream) {
  if (comm != &comm_token || !elem_size(dtype)) return 4;
  last_count = count; last_dtype = dtype; last_op = op; last_stream = stream;
  if (s != r && count) memmove(r, s, count * elem_size(dtype));
  return 0;
}
int ncclAllReduce(const void* s, void* r, size_t count, int dtype, int op, ncclComm_t comm, void* stream) {
  return record(s, r, count, dtype, op, comm, stream);
}
int ncclBroadcast(const void* s, void* r, size_t count, int dtype, int root, ncclComm_t comm, void* stream) {
  last_root = root;
  return record(s, r, count, dtype, -1, comm, stream);
}
int ncclAllGather(const void* s, void* r, size_t count, int dtype, ncclComm_t comm, void* stream) {
  return record(s, r, count, dtype, -1, comm, stream);
}
int ncclReduceScatter(const void* s, void* r, size_t count, int dtype, int op, ncclComm_t comm, void* stream) {
  return record(s, r, count, dtype, op, comm, stream);
}
