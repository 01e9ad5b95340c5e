/*
 * nccl.h: the subset of the NCCL API (libnccl.so.2, 2.14 or newer for ncclCommFinalize) that fullshard
 * binds. Written for fullshard from NVIDIA's public NCCL documentation, not copied from NVIDIA's
 * headers; bindings/.../Nccl.java mirrors this file one function to one downcall.
 *
 * Every function but the two string getters returns an ncclResult_t, an int-sized enum:
 *   ncclSuccess 0, ncclUnhandledCudaError 1, ncclSystemError 2, ncclInternalError 3,
 *   ncclInvalidArgument 4, ncclInvalidUsage 5, ncclRemoteError 6, ncclInProgress 7
 *   (ncclInProgress: a non-blocking communicator is still working; poll ncclCommGetAsyncError).
 * ncclDataType_t: ncclInt8 0, ncclUint8 1, ncclInt32 2, ncclUint32 3, ncclInt64 4, ncclUint64 5,
 *   ncclFloat16 6, ncclFloat32 7, ncclFloat64 8, ncclBfloat16 9.   ncclRedOp_t: ncclSum 0.
 * Counts are in elements, not bytes. Collectives are enqueued on the given CUDA stream and return
 * before they complete.
 *
 * ncclUniqueId is a 128-byte struct passed BY VALUE to ncclCommInitRank: on x86-64 a struct that
 * large travels in memory on the stack, so its FFM layout must be a struct layout (Nccl.UNIQUE_ID),
 * not an address. Rank 0 makes it with ncclGetUniqueId and every rank must receive the same bytes.
 */
#include <stddef.h>

typedef int ncclResult_t;                    /* enum */
typedef int ncclDataType_t;                  /* enum */
typedef int ncclRedOp_t;                     /* enum */
typedef struct ncclComm* ncclComm_t;
typedef struct CUstream_st* cudaStream_t;
typedef struct { char internal[128]; } ncclUniqueId;

ncclResult_t ncclGetVersion(int* version);   /* 10000*major + 100*minor + patch, e.g. 22803 for 2.28.3 */
ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId);
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank);
                                             /* collective over all nranks; uses the current CUDA device; *comm owned */
ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t* newcomm, void* config);
                                             /* NCCL >= 2.18; collective over comm; config NULL: comm's own; *newcomm owned */
ncclResult_t ncclCommDestroy(ncclComm_t comm);       /* frees comm; after ncclCommFinalize for a clean shutdown */
ncclResult_t ncclCommAbort(ncclComm_t comm);         /* frees comm, stopping any pending work (error path) */
ncclResult_t ncclCommFinalize(ncclComm_t comm);      /* flushes pending work; the communicator is still to be destroyed */
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError);
const char* ncclGetErrorString(ncclResult_t result); /* static text */
const char* ncclGetLastError(ncclComm_t comm);       /* the last error's details; comm may be NULL; owned by NCCL */
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);       /* in place when sendbuff == recvbuff */
ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           int root, ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);   /* sendbuff: nranks*recvcount elements */
ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream);                       /* recvbuff: nranks*sendcount elements */
ncclResult_t ncclGroupStart(void);           /* calls until ncclGroupEnd are launched together */
ncclResult_t ncclGroupEnd(void);
