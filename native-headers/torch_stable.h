/*
 * torch_stable.h: the subset of libtorch's stable C ABI (libtorch >= 2.10) that fullshard binds.
 *
 * Written for fullshard from the documented signatures; bindings/.../TorchStable.java mirrors this
 * file one function to one downcall handle, and a test checks the two against each other.
 *
 * Conventions of the C ABI:
 *   - AOTITorchError is int32_t: 0 on success, 1 when libtorch caught a C++ exception (its text
 *     goes to stderr through LOG(ERROR); there is no getter in 2.10).
 *   - "new ref": the caller owns the returned handle and must aoti_torch_delete_tensor_object it.
 *   - "borrowed": do not free; valid while the tensor it came from lives.
 *   - Generated shims (aoti_torch_cpu_*, aoti_torch_aten_*) borrow their inputs.
 *   - torch_call_dispatcher consumes every handle, list and box on the stack (see trainer/.../tensor/Dispatch.java).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t AOTITorchError;
typedef struct AtenTensorOpaque* AtenTensorHandle;
typedef struct StableListOpaque* StableListHandle;
typedef uint64_t StableIValue;

/* ---- version and constants (enum values are read at run time, never hard-coded) ---- */
uint64_t aoti_torch_abi_version(void);                   /* major<<56 | minor<<48 | patch<<40 | tag */
int32_t aoti_torch_dtype_uint8(void);
int32_t aoti_torch_dtype_int8(void);
int32_t aoti_torch_dtype_int32(void);
int32_t aoti_torch_dtype_int64(void);
int32_t aoti_torch_dtype_float16(void);
int32_t aoti_torch_dtype_float32(void);
int32_t aoti_torch_dtype_float64(void);
int32_t aoti_torch_dtype_bool(void);
int32_t aoti_torch_dtype_bfloat16(void);
size_t aoti_torch_dtype_element_size(int32_t dtype);    /* bytes per element */
int32_t aoti_torch_device_type_cpu(void);
int32_t aoti_torch_device_type_cuda(void);
int32_t aoti_torch_layout_strided(void);
int32_t aoti_torch_memory_format_contiguous_format(void);

/* ---- tensor lifetime ---- */
AOTITorchError aoti_torch_empty_strided(int64_t ndim, const int64_t* sizes, const int64_t* strides,
                                        int32_t dtype, int32_t device_type, int32_t device_index,
                                        AtenTensorHandle* ret);            /* ret: new ref */
AOTITorchError aoti_torch_create_tensor_from_blob(void* data, int64_t ndim, const int64_t* sizes,
                                                  const int64_t* strides, int64_t storage_offset,
                                                  int32_t dtype, int32_t device_type,
                                                  int32_t device_index,
                                                  AtenTensorHandle* ret);  /* ret: new ref; data not owned, must outlive it */
AOTITorchError aoti_torch_new_tensor_handle(AtenTensorHandle orig, AtenTensorHandle* ret); /* ret: new ref, same tensor */
AOTITorchError aoti_torch_new_uninitialized_tensor(AtenTensorHandle* ret);   /* ret: new ref to an undefined tensor (a C++ at::Tensor()) */
AOTITorchError aoti_torch_delete_tensor_object(AtenTensorHandle tensor);   /* releases one handle */

/* ---- tensor metadata ---- */
AOTITorchError aoti_torch_get_data_ptr(AtenTensorHandle tensor, void** ret);      /* ret: borrowed */
AOTITorchError aoti_torch_get_dim(AtenTensorHandle tensor, int64_t* ret);
AOTITorchError aoti_torch_get_numel(AtenTensorHandle tensor, int64_t* ret);
AOTITorchError aoti_torch_get_storage_offset(AtenTensorHandle tensor, int64_t* ret);
AOTITorchError aoti_torch_get_sizes(AtenTensorHandle tensor, int64_t** ret);      /* ret: borrowed array of dim entries */
AOTITorchError aoti_torch_get_strides(AtenTensorHandle tensor, int64_t** ret);    /* ret: borrowed array of dim entries */
AOTITorchError aoti_torch_get_dtype(AtenTensorHandle tensor, int32_t* ret);
AOTITorchError aoti_torch_get_device_type(AtenTensorHandle tensor, int32_t* ret);
AOTITorchError aoti_torch_get_device_index(AtenTensorHandle tensor, int32_t* ret);
AOTITorchError aoti_torch_is_contiguous(AtenTensorHandle tensor, bool* ret);

/* ---- scalars in and out (the dispatcher has no Scalar conversion in 2.10) ---- */
AOTITorchError aoti_torch_scalar_to_tensor_float32(float value, AtenTensorHandle* ret);   /* ret: new ref, 0-dim */
AOTITorchError aoti_torch_scalar_to_tensor_float64(double value, AtenTensorHandle* ret);  /* ret: new ref, 0-dim */
AOTITorchError aoti_torch_scalar_to_tensor_int64(int64_t value, AtenTensorHandle* ret);   /* ret: new ref, 0-dim */
AOTITorchError aoti_torch_item_float32(AtenTensorHandle tensor, float* ret);
AOTITorchError aoti_torch_item_float64(AtenTensorHandle tensor, double* ret);
AOTITorchError aoti_torch_item_int64(AtenTensorHandle tensor, int64_t* ret);
AOTITorchError aoti_torch_item_bool(AtenTensorHandle tensor, bool* ret);

/* ---- autograd mode (thread-local per OS thread) ---- */
bool aoti_torch_grad_mode_is_enabled(void);
void aoti_torch_grad_mode_set_enabled(bool enabled);
AOTITorchError torch_set_requires_grad(AtenTensorHandle tensor, bool requires_grad);
                                     /* tensor borrowed, changed in place (leaves only); 2.10 stable shim */

/* ---- generated shims: ops with a Scalar argument passed as double; inputs borrowed ---- */
AOTITorchError aoti_torch_aten_subtract_Tensor(AtenTensorHandle self, AtenTensorHandle other,
                                               double alpha, AtenTensorHandle* ret);  /* self - alpha*other, any device; ret: new ref */
AOTITorchError aoti_torch_aten_fill__Scalar(AtenTensorHandle self, double value);     /* in place, any device */
AOTITorchError aoti_torch_cpu_add_Tensor(AtenTensorHandle self, AtenTensorHandle other,
                                         double alpha, AtenTensorHandle* ret);        /* CPU only; ret: new ref */
AOTITorchError aoti_torch_cpu_mul_Tensor(AtenTensorHandle self, AtenTensorHandle other,
                                         AtenTensorHandle* ret);                       /* CPU only; ret: new ref */

/* ---- boxed dispatcher: any ATen operator by name (torch/csrc/stable/c/shim.h, 2.10) ---- */
AOTITorchError torch_call_dispatcher(const char* op_name, const char* overload_name,
                                     StableIValue* stack, uint64_t extension_build_version);
                                     /* consumes the arguments on the stack; returns written to stack[0..n) are new refs */
AOTITorchError torch_new_list_reserve_size(size_t size, StableListHandle* ret);   /* ret owned until put on a stack */
AOTITorchError torch_list_push_back(StableListHandle list, StableIValue value);   /* the list takes value */
AOTITorchError torch_list_size(StableListHandle list, size_t* ret);
AOTITorchError torch_list_get_item(StableListHandle list, size_t index, StableIValue* ret); /* ret: owned by the caller */
AOTITorchError torch_delete_list(StableListHandle list);                          /* frees the list, not its items */

/* ---- threads ---- */
AOTITorchError torch_get_num_threads(uint32_t* ret);   /* intra-op pool size, fixed at load from OMP_NUM_THREADS */
