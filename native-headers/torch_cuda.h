/*
 * torch_cuda.h: the CUDA functions of libtorch's C shim (libtorch >= 2.10) that fullshard binds.
 * They are compiled only into CUDA builds and exported by libtorch_cuda.so, not libtorch_cpu.so
 * (see docs/libtorch-stable-abi.md §12). Written for fullshard from PyTorch's public
 * torch/csrc/inductor/aoti_torch/c/shim.h; bindings/.../TorchCuda.java mirrors this file one
 * function to one downcall.
 *
 * AOTITorchError is int32_t: 0 on success, 1 when libtorch caught a C++ exception (its text goes to
 * stderr, which fullshard captures; see NativeStderr).
 */
#include <stdint.h>

typedef int32_t AOTITorchError;
typedef struct CUDAGuardOpaque* CUDAGuardHandle;

AOTITorchError aoti_torch_get_current_cuda_stream(int32_t device_index, void** ret_stream);
                                     /* *ret_stream: the cudaStream_t libtorch's kernels run on (borrowed) */
AOTITorchError aoti_torch_create_cuda_guard(int32_t device_index, CUDAGuardHandle* ret_guard);
                                     /* makes device_index current until deleted; *ret_guard owned */
AOTITorchError aoti_torch_delete_cuda_guard(CUDAGuardHandle guard);   /* restores the previous device */
AOTITorchError aoti_torch_cuda_guard_set_index(CUDAGuardHandle guard, int32_t device_index);
