/*
 * cublas.h: the subset of the cuBLAS API (libcublas.so.13, else libcublas.so.12) that fullshard
 * binds. Written for fullshard from NVIDIA's public cuBLAS documentation, not copied from NVIDIA's
 * headers; bindings/.../Cublas.java mirrors this file one function to one downcall.
 *
 * The exported symbols of the handle functions carry a _v2 suffix (NVIDIA's cublas_v2.h maps
 * cublasCreate to cublasCreate_v2 and so on); cublasGemmEx and the status strings have none.
 * Every function but the two string getters returns a cublasStatus_t, an int-sized enum: 0 = success.
 * Matrices are column-major. Values fullshard uses (mirrored as constants in Cublas.java):
 *   cublasOperation_t   CUBLAS_OP_N 0, CUBLAS_OP_T 1
 *   cudaDataType_t      CUDA_R_32F 0, CUDA_R_16F 2, CUDA_R_16BF 14
 *   cublasComputeType_t CUBLAS_COMPUTE_32F 68   (alpha and beta are then host float32 values)
 *   cublasGemmAlgo_t    CUBLAS_GEMM_DEFAULT -1
 */
typedef int cublasStatus_t;                  /* enum */
typedef int cublasOperation_t;               /* enum */
typedef int cudaDataType_t;                  /* enum cudaDataType_t (library_types.h) */
typedef int cublasComputeType_t;             /* enum */
typedef int cublasGemmAlgo_t;                /* enum */
typedef struct cublasContext* cublasHandle_t;
typedef struct CUstream_st* cudaStream_t;

const char* cublasGetStatusName(cublasStatus_t status);     /* static text, e.g. "CUBLAS_STATUS_INVALID_VALUE" */
const char* cublasGetStatusString(cublasStatus_t status);   /* static text describing the status */
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle);     /* on the current device; *handle owned: cublasDestroy_v2 */
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version);   /* 10000*major + 100*minor + patch */
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);   /* later calls run on streamId */
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                            int m, int n, int k, const void* alpha,
                            const void* A, cudaDataType_t Atype, int lda,
                            const void* B, cudaDataType_t Btype, int ldb, const void* beta,
                            void* C, cudaDataType_t Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo);
                            /* C = alpha*op(A)*op(B) + beta*C; alpha, beta: host pointers (default pointer mode) */
