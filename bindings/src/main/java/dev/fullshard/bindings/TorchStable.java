package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into libtorch, one per function of {@code native-headers/torch_stable.h}, in the same order.
 * Each C function has a {@code NAME$DESC} descriptor, a handle and a static method with the C name.
 * Ownership rules are written next to each declaration in the header.
 */
@SuppressWarnings("unused")
public final class TorchStable {
    private static final NativeLibrary LIB = TorchLibrary.library();

    private TorchStable() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return LIB;
    }

    public static final FunctionDescriptor aoti_torch_abi_version$DESC = FunctionDescriptor.of(JAVA_LONG);
    private static final MethodHandle aoti_torch_abi_version$MH = LIB.downcall("aoti_torch_abi_version", aoti_torch_abi_version$DESC);

    public static long aoti_torch_abi_version() {
        try { return (long) aoti_torch_abi_version$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_uint8$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_uint8$MH = LIB.downcall("aoti_torch_dtype_uint8", aoti_torch_dtype_uint8$DESC);

    public static int aoti_torch_dtype_uint8() {
        try { return (int) aoti_torch_dtype_uint8$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_int8$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_int8$MH = LIB.downcall("aoti_torch_dtype_int8", aoti_torch_dtype_int8$DESC);

    public static int aoti_torch_dtype_int8() {
        try { return (int) aoti_torch_dtype_int8$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_int32$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_int32$MH = LIB.downcall("aoti_torch_dtype_int32", aoti_torch_dtype_int32$DESC);

    public static int aoti_torch_dtype_int32() {
        try { return (int) aoti_torch_dtype_int32$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_int64$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_int64$MH = LIB.downcall("aoti_torch_dtype_int64", aoti_torch_dtype_int64$DESC);

    public static int aoti_torch_dtype_int64() {
        try { return (int) aoti_torch_dtype_int64$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_float16$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_float16$MH = LIB.downcall("aoti_torch_dtype_float16", aoti_torch_dtype_float16$DESC);

    public static int aoti_torch_dtype_float16() {
        try { return (int) aoti_torch_dtype_float16$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_float32$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_float32$MH = LIB.downcall("aoti_torch_dtype_float32", aoti_torch_dtype_float32$DESC);

    public static int aoti_torch_dtype_float32() {
        try { return (int) aoti_torch_dtype_float32$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_float64$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_float64$MH = LIB.downcall("aoti_torch_dtype_float64", aoti_torch_dtype_float64$DESC);

    public static int aoti_torch_dtype_float64() {
        try { return (int) aoti_torch_dtype_float64$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_bool$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_bool$MH = LIB.downcall("aoti_torch_dtype_bool", aoti_torch_dtype_bool$DESC);

    public static int aoti_torch_dtype_bool() {
        try { return (int) aoti_torch_dtype_bool$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_bfloat16$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_bfloat16$MH = LIB.downcall("aoti_torch_dtype_bfloat16", aoti_torch_dtype_bfloat16$DESC);

    public static int aoti_torch_dtype_bfloat16() {
        try { return (int) aoti_torch_dtype_bfloat16$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_dtype_element_size$DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_INT);
    private static final MethodHandle aoti_torch_dtype_element_size$MH = LIB.downcall("aoti_torch_dtype_element_size", aoti_torch_dtype_element_size$DESC);

    public static long aoti_torch_dtype_element_size(int dtype) {
        try { return (long) aoti_torch_dtype_element_size$MH.invokeExact(dtype); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_device_type_cpu$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_device_type_cpu$MH = LIB.downcall("aoti_torch_device_type_cpu", aoti_torch_device_type_cpu$DESC);

    public static int aoti_torch_device_type_cpu() {
        try { return (int) aoti_torch_device_type_cpu$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_device_type_cuda$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_device_type_cuda$MH = LIB.downcall("aoti_torch_device_type_cuda", aoti_torch_device_type_cuda$DESC);

    public static int aoti_torch_device_type_cuda() {
        try { return (int) aoti_torch_device_type_cuda$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_layout_strided$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_layout_strided$MH = LIB.downcall("aoti_torch_layout_strided", aoti_torch_layout_strided$DESC);

    public static int aoti_torch_layout_strided() {
        try { return (int) aoti_torch_layout_strided$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_memory_format_contiguous_format$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle aoti_torch_memory_format_contiguous_format$MH = LIB.downcall("aoti_torch_memory_format_contiguous_format", aoti_torch_memory_format_contiguous_format$DESC);

    public static int aoti_torch_memory_format_contiguous_format() {
        try { return (int) aoti_torch_memory_format_contiguous_format$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_empty_strided$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle aoti_torch_empty_strided$MH = LIB.downcall("aoti_torch_empty_strided", aoti_torch_empty_strided$DESC);

    public static int aoti_torch_empty_strided(long ndim, MemorySegment sizes, MemorySegment strides, int dtype, int device_type, int device_index, MemorySegment ret) {
        try { return (int) aoti_torch_empty_strided$MH.invokeExact(ndim, sizes, strides, dtype, device_type, device_index, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_create_tensor_from_blob$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle aoti_torch_create_tensor_from_blob$MH = LIB.downcall("aoti_torch_create_tensor_from_blob", aoti_torch_create_tensor_from_blob$DESC);

    public static int aoti_torch_create_tensor_from_blob(MemorySegment data, long ndim, MemorySegment sizes, MemorySegment strides, long storage_offset, int dtype, int device_type, int device_index, MemorySegment ret) {
        try { return (int) aoti_torch_create_tensor_from_blob$MH.invokeExact(data, ndim, sizes, strides, storage_offset, dtype, device_type, device_index, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_new_tensor_handle$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_new_tensor_handle$MH = LIB.downcall("aoti_torch_new_tensor_handle", aoti_torch_new_tensor_handle$DESC);

    public static int aoti_torch_new_tensor_handle(MemorySegment orig, MemorySegment ret) {
        try { return (int) aoti_torch_new_tensor_handle$MH.invokeExact(orig, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_new_uninitialized_tensor$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle aoti_torch_new_uninitialized_tensor$MH = LIB.downcall("aoti_torch_new_uninitialized_tensor", aoti_torch_new_uninitialized_tensor$DESC);

    public static int aoti_torch_new_uninitialized_tensor(MemorySegment ret) {
        try { return (int) aoti_torch_new_uninitialized_tensor$MH.invokeExact(ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_delete_tensor_object$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle aoti_torch_delete_tensor_object$MH = LIB.downcall("aoti_torch_delete_tensor_object", aoti_torch_delete_tensor_object$DESC);

    public static int aoti_torch_delete_tensor_object(MemorySegment tensor) {
        try { return (int) aoti_torch_delete_tensor_object$MH.invokeExact(tensor); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_data_ptr$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_data_ptr$MH = LIB.downcall("aoti_torch_get_data_ptr", aoti_torch_get_data_ptr$DESC);

    public static int aoti_torch_get_data_ptr(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_data_ptr$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_dim$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_dim$MH = LIB.downcall("aoti_torch_get_dim", aoti_torch_get_dim$DESC);

    public static int aoti_torch_get_dim(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_dim$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_numel$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_numel$MH = LIB.downcall("aoti_torch_get_numel", aoti_torch_get_numel$DESC);

    public static int aoti_torch_get_numel(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_numel$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_storage_offset$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_storage_offset$MH = LIB.downcall("aoti_torch_get_storage_offset", aoti_torch_get_storage_offset$DESC);

    public static int aoti_torch_get_storage_offset(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_storage_offset$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_sizes$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_sizes$MH = LIB.downcall("aoti_torch_get_sizes", aoti_torch_get_sizes$DESC);

    public static int aoti_torch_get_sizes(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_sizes$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_strides$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_strides$MH = LIB.downcall("aoti_torch_get_strides", aoti_torch_get_strides$DESC);

    public static int aoti_torch_get_strides(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_strides$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_dtype$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_dtype$MH = LIB.downcall("aoti_torch_get_dtype", aoti_torch_get_dtype$DESC);

    public static int aoti_torch_get_dtype(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_dtype$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_device_type$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_device_type$MH = LIB.downcall("aoti_torch_get_device_type", aoti_torch_get_device_type$DESC);

    public static int aoti_torch_get_device_type(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_device_type$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_get_device_index$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_get_device_index$MH = LIB.downcall("aoti_torch_get_device_index", aoti_torch_get_device_index$DESC);

    public static int aoti_torch_get_device_index(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_get_device_index$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_is_contiguous$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_is_contiguous$MH = LIB.downcall("aoti_torch_is_contiguous", aoti_torch_is_contiguous$DESC);

    public static int aoti_torch_is_contiguous(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_is_contiguous$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_scalar_to_tensor_float32$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_FLOAT, ADDRESS);
    private static final MethodHandle aoti_torch_scalar_to_tensor_float32$MH = LIB.downcall("aoti_torch_scalar_to_tensor_float32", aoti_torch_scalar_to_tensor_float32$DESC);

    public static int aoti_torch_scalar_to_tensor_float32(float value, MemorySegment ret) {
        try { return (int) aoti_torch_scalar_to_tensor_float32$MH.invokeExact(value, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_scalar_to_tensor_float64$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_DOUBLE, ADDRESS);
    private static final MethodHandle aoti_torch_scalar_to_tensor_float64$MH = LIB.downcall("aoti_torch_scalar_to_tensor_float64", aoti_torch_scalar_to_tensor_float64$DESC);

    public static int aoti_torch_scalar_to_tensor_float64(double value, MemorySegment ret) {
        try { return (int) aoti_torch_scalar_to_tensor_float64$MH.invokeExact(value, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_scalar_to_tensor_int64$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle aoti_torch_scalar_to_tensor_int64$MH = LIB.downcall("aoti_torch_scalar_to_tensor_int64", aoti_torch_scalar_to_tensor_int64$DESC);

    public static int aoti_torch_scalar_to_tensor_int64(long value, MemorySegment ret) {
        try { return (int) aoti_torch_scalar_to_tensor_int64$MH.invokeExact(value, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_item_float32$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_item_float32$MH = LIB.downcall("aoti_torch_item_float32", aoti_torch_item_float32$DESC);

    public static int aoti_torch_item_float32(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_item_float32$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_item_float64$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_item_float64$MH = LIB.downcall("aoti_torch_item_float64", aoti_torch_item_float64$DESC);

    public static int aoti_torch_item_float64(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_item_float64$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_item_int64$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_item_int64$MH = LIB.downcall("aoti_torch_item_int64", aoti_torch_item_int64$DESC);

    public static int aoti_torch_item_int64(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_item_int64$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_item_bool$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_item_bool$MH = LIB.downcall("aoti_torch_item_bool", aoti_torch_item_bool$DESC);

    public static int aoti_torch_item_bool(MemorySegment tensor, MemorySegment ret) {
        try { return (int) aoti_torch_item_bool$MH.invokeExact(tensor, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_grad_mode_is_enabled$DESC = FunctionDescriptor.of(JAVA_BOOLEAN);
    private static final MethodHandle aoti_torch_grad_mode_is_enabled$MH = LIB.downcall("aoti_torch_grad_mode_is_enabled", aoti_torch_grad_mode_is_enabled$DESC);

    public static boolean aoti_torch_grad_mode_is_enabled() {
        try { return (boolean) aoti_torch_grad_mode_is_enabled$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_grad_mode_set_enabled$DESC = FunctionDescriptor.ofVoid(JAVA_BOOLEAN);
    private static final MethodHandle aoti_torch_grad_mode_set_enabled$MH = LIB.downcall("aoti_torch_grad_mode_set_enabled", aoti_torch_grad_mode_set_enabled$DESC);

    public static void aoti_torch_grad_mode_set_enabled(boolean enabled) {
        try { aoti_torch_grad_mode_set_enabled$MH.invokeExact(enabled); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_set_requires_grad$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_BOOLEAN);
    private static final MethodHandle torch_set_requires_grad$MH = LIB.downcall("torch_set_requires_grad", torch_set_requires_grad$DESC);

    public static int torch_set_requires_grad(MemorySegment tensor, boolean requires_grad) {
        try { return (int) torch_set_requires_grad$MH.invokeExact(tensor, requires_grad); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_aten_subtract_Tensor$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS);
    private static final MethodHandle aoti_torch_aten_subtract_Tensor$MH = LIB.downcall("aoti_torch_aten_subtract_Tensor", aoti_torch_aten_subtract_Tensor$DESC);

    public static int aoti_torch_aten_subtract_Tensor(MemorySegment self, MemorySegment other, double alpha, MemorySegment ret) {
        try { return (int) aoti_torch_aten_subtract_Tensor$MH.invokeExact(self, other, alpha, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_aten_fill__Scalar$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_DOUBLE);
    private static final MethodHandle aoti_torch_aten_fill__Scalar$MH = LIB.downcall("aoti_torch_aten_fill__Scalar", aoti_torch_aten_fill__Scalar$DESC);

    public static int aoti_torch_aten_fill__Scalar(MemorySegment self, double value) {
        try { return (int) aoti_torch_aten_fill__Scalar$MH.invokeExact(self, value); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_cpu_add_Tensor$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS);
    private static final MethodHandle aoti_torch_cpu_add_Tensor$MH = LIB.downcall("aoti_torch_cpu_add_Tensor", aoti_torch_cpu_add_Tensor$DESC);

    public static int aoti_torch_cpu_add_Tensor(MemorySegment self, MemorySegment other, double alpha, MemorySegment ret) {
        try { return (int) aoti_torch_cpu_add_Tensor$MH.invokeExact(self, other, alpha, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_cpu_mul_Tensor$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle aoti_torch_cpu_mul_Tensor$MH = LIB.downcall("aoti_torch_cpu_mul_Tensor", aoti_torch_cpu_mul_Tensor$DESC);

    public static int aoti_torch_cpu_mul_Tensor(MemorySegment self, MemorySegment other, MemorySegment ret) {
        try { return (int) aoti_torch_cpu_mul_Tensor$MH.invokeExact(self, other, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_call_dispatcher$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle torch_call_dispatcher$MH = LIB.downcall("torch_call_dispatcher", torch_call_dispatcher$DESC);

    public static int torch_call_dispatcher(MemorySegment op_name, MemorySegment overload_name, MemorySegment stack, long extension_build_version) {
        try { return (int) torch_call_dispatcher$MH.invokeExact(op_name, overload_name, stack, extension_build_version); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_new_list_reserve_size$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle torch_new_list_reserve_size$MH = LIB.downcall("torch_new_list_reserve_size", torch_new_list_reserve_size$DESC);

    public static int torch_new_list_reserve_size(long size, MemorySegment ret) {
        try { return (int) torch_new_list_reserve_size$MH.invokeExact(size, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_list_push_back$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle torch_list_push_back$MH = LIB.downcall("torch_list_push_back", torch_list_push_back$DESC);

    public static int torch_list_push_back(MemorySegment list, long value) {
        try { return (int) torch_list_push_back$MH.invokeExact(list, value); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_list_size$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle torch_list_size$MH = LIB.downcall("torch_list_size", torch_list_size$DESC);

    public static int torch_list_size(MemorySegment list, MemorySegment ret) {
        try { return (int) torch_list_size$MH.invokeExact(list, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_list_get_item$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS);
    private static final MethodHandle torch_list_get_item$MH = LIB.downcall("torch_list_get_item", torch_list_get_item$DESC);

    public static int torch_list_get_item(MemorySegment list, long index, MemorySegment ret) {
        try { return (int) torch_list_get_item$MH.invokeExact(list, index, ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_delete_list$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle torch_delete_list$MH = LIB.downcall("torch_delete_list", torch_delete_list$DESC);

    public static int torch_delete_list(MemorySegment list) {
        try { return (int) torch_delete_list$MH.invokeExact(list); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor torch_get_num_threads$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle torch_get_num_threads$MH = LIB.downcall("torch_get_num_threads", torch_get_num_threads$DESC);

    public static int torch_get_num_threads(MemorySegment ret) {
        try { return (int) torch_get_num_threads$MH.invokeExact(ret); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
