/*
 * cuda_runtime.h: the subset of the CUDA runtime API (libcudart.so.13, else libcudart.so.12) that
 * fullshard binds. Written for fullshard from NVIDIA's public CUDA Runtime API reference, not copied
 * from NVIDIA's headers; bindings/.../CudaRuntime.java mirrors this file one function to one downcall.
 *
 * Every function returns a cudaError_t, an int-sized enum: 0 = cudaSuccess; cudaEventQuery returns
 * 600 = cudaErrorNotReady while the work before the event is still running.
 * Handles (cudaStream_t, cudaEvent_t) are opaque pointers; the null stream is the legacy default stream.
 * Values fullshard uses (mirrored as constants in CudaRuntime.java):
 *   cudaStreamNonBlocking     1   (cudaStreamCreateWithFlags: no implicit sync with the null stream)
 *   cudaEventDisableTiming    2   (cudaEventCreateWithFlags: cheaper events for ordering only)
 *   cudaDevAttrMultiProcessorCount 16, cudaDevAttrComputeCapabilityMajor 75,
 *   cudaDevAttrComputeCapabilityMinor 76   (enum cudaDeviceAttr, for cudaDeviceGetAttribute)
 *   cudaErrorNotReady 600
 *   cudaMemcpyHostToDevice 1, cudaMemcpyDeviceToHost 2, cudaMemcpyDefault 4   (enum cudaMemcpyKind)
 *
 * The device name: there is no cudaDeviceGetName in the runtime. cudaGetDeviceProperties fills a
 * struct cudaDeviceProp whose size and later fields change between CUDA versions (13 removed fields);
 * its first field, char name[256], stays at offset 0. fullshard passes a generously sized buffer
 * (8192 bytes) and reads only the name. libcudart.so.13 exports this function only as
 * cudaGetDeviceProperties (12.x headers renamed calls to cudaGetDeviceProperties_v2, a symbol that
 * 13 no longer exports); libcudart.so.12 exports cudaGetDeviceProperties too.
 */
#include <stddef.h>

typedef int cudaError_t;                     /* enum cudaError */
typedef int cudaDeviceAttr;                  /* enum cudaDeviceAttr */
typedef int cudaMemcpyKind;                  /* enum cudaMemcpyKind */
typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;

/* ---- errors ---- */
const char* cudaGetErrorString(cudaError_t error);   /* static text, never freed */
const char* cudaGetErrorName(cudaError_t error);     /* static text, e.g. "cudaErrorMemoryAllocation" */
cudaError_t cudaGetLastError(void);                  /* returns and clears the thread's last error */

/* ---- versions and devices ---- */
cudaError_t cudaRuntimeGetVersion(int* runtimeVersion);   /* 1000*major + 10*minor, e.g. 13000 */
cudaError_t cudaDriverGetVersion(int* driverVersion);     /* same encoding; 0 when no driver is installed */
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);                    /* the calling thread's current device */
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(void* prop, int device);   /* prop: >= 8192 bytes; only name[256] at offset 0 is read */
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize(void);

/* ---- memory (current device) ---- */
cudaError_t cudaMemGetInfo(size_t* free, size_t* total);
cudaError_t cudaMalloc(void** devPtr, size_t size);       /* *devPtr owned by the caller: cudaFree it */
cudaError_t cudaFree(void* devPtr);
cudaError_t cudaMemset(void* devPtr, int value, size_t count);   /* sets count bytes to (unsigned char) value */
cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind);   /* synchronous for pageable host memory */

/* ---- streams and events ---- */
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags);   /* *pStream owned: cudaStreamDestroy */
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);   /* flags: 0 */
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);     /* *event owned: cudaEventDestroy */
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventQuery(cudaEvent_t event);            /* 0 when done, 600 (cudaErrorNotReady) while pending */
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);  /* both events with timing enabled */
cudaError_t cudaEventDestroy(cudaEvent_t event);
