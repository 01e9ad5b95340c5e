package dev.fullshard.tensor;

import dev.fullshard.bindings.NativeStderr;
import dev.fullshard.bindings.TorchStable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One owning reference to a libtorch tensor.
 *
 * <p>Ownership: every {@code Tensor} holds exactly one libtorch handle and releases it in
 * {@link #close()}. A tensor made while a {@link TensorScope} is open on this thread belongs to that
 * scope, which closes it unless it was closed before or handed on with {@link TensorScope#keep}.
 * Views share storage with their base but are separate handles with their own owner.
 *
 * <p>Zero-copy tensors ({@link #wrap}) view memory that Java owns. libtorch cannot free it and has no
 * way to keep it alive, so the rule is: the segment's arena must outlive the tensor and every view
 * of it. Java enforces what it can: using such a tensor, or a view made through this class, after
 * the arena closed throws {@link IllegalStateException} instead of reading freed memory.
 */
public final class Tensor implements AutoCloseable {
    private static final AtomicLong LIVE = new AtomicLong();

    private MemorySegment handle;
    /** Memory owned by Java that this tensor views, or null. */
    private final MemorySegment borrowed;
    private long[] shape;
    private DType dtype;

    private Tensor(MemorySegment handle, MemorySegment borrowed) {
        this.handle = handle;
        this.borrowed = borrowed;
        LIVE.incrementAndGet();
        TensorScope.registerInCurrent(this);
    }

    /** Takes ownership of a handle libtorch returned. */
    static Tensor adopt(long address) {
        return new Tensor(MemorySegment.ofAddress(address), null);
    }

    /** Takes ownership of a handle that views the same Java memory as {@code base}. */
    static Tensor adoptView(long address, Tensor base) {
        return new Tensor(MemorySegment.ofAddress(address), base.borrowed);
    }

    /** Number of tensor handles created and not yet closed, in this process. */
    public static long liveCount() {
        return LIVE.get();
    }

    // ---------------------------------------------------------------- creation

    public static Tensor empty(DType dtype, Device device, long... shape) {
        long[] strides = contiguousStrides(shape);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Scratch.get().cell;
            long start = OpProfile.ON ? System.nanoTime() : 0;
            check(TorchStable.aoti_torch_empty_strided(shape.length, arena.allocateFrom(JAVA_LONG, shape),
                    arena.allocateFrom(JAVA_LONG, strides), dtype.code(), device.typeCode(), device.abiIndex(), out),
                    "aoti_torch_empty_strided", "shape " + Arrays.toString(shape) + " " + dtype + " " + device);
            if (OpProfile.ON) OpProfile.record("aoti_torch_empty_strided", start);
            return adopt(out.get(JAVA_LONG, 0));
        }
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return full(0.0, dtype, device, shape);
    }

    public static Tensor full(double value, DType dtype, Device device, long... shape) {
        Tensor t = empty(dtype, device, shape);
        Copies.fill(t, value);
        return t;
    }

    /** Standard normal values from {@code seed}; the same seed gives the same values on any thread count. */
    public static Tensor randn(long seed, DType dtype, Device device, long... shape) {
        return generated(seed, dtype, device, shape, SplittableRandom::nextGaussian);
    }

    /** Uniform values in [0, 1) from {@code seed}. */
    public static Tensor rand(long seed, DType dtype, Device device, long... shape) {
        return generated(seed, dtype, device, shape, SplittableRandom::nextDouble);
    }

    private interface Sampler {
        double next(SplittableRandom random);
    }

    /**
     * Random values are drawn in Java (the C ABI cannot pass a libtorch Generator), in fixed chunks
     * with one generator split per chunk, so results do not depend on scheduling.
     */
    private static Tensor generated(long seed, DType dtype, Device device, long[] shape, Sampler sampler) {
        if (!dtype.isFloatingPoint()) throw new IllegalArgumentException("random tensors must be floating point, got " + dtype);
        long n = numel(shape);
        final int chunk = 1 << 16;
        int chunks = (int) ((n + chunk - 1) / chunk);
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom[] randoms = new SplittableRandom[chunks];
        for (int c = 0; c < chunks; c++) randoms[c] = root.split();
        try (TensorScope scope = TensorScope.open()) {
            Tensor f64 = empty(DType.F64, Device.CPU, shape);
            MemorySegment data = f64.dataSegment();
            IntStream.range(0, chunks).parallel().forEach(c -> {
                long end = Math.min(n, (long) (c + 1) * chunk);
                for (long i = (long) c * chunk; i < end; i++) data.setAtIndex(ValueLayout.JAVA_DOUBLE, i, sampler.next(randoms[c]));
            });
            return scope.keep(Copies.toCopy(f64, dtype, device));
        }
    }

    public static Tensor of(float[] data, long... shape) {
        return fromJava(MemorySegment.ofArray(data), DType.F32, data.length, shape);
    }

    public static Tensor of(double[] data, long... shape) {
        return fromJava(MemorySegment.ofArray(data), DType.F64, data.length, shape);
    }

    public static Tensor of(long[] data, long... shape) {
        return fromJava(MemorySegment.ofArray(data), DType.I64, data.length, shape);
    }

    public static Tensor of(int[] data, long... shape) {
        return fromJava(MemorySegment.ofArray(data), DType.I32, data.length, shape);
    }

    public static Tensor of(boolean[] data, long... shape) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) bytes[i] = (byte) (data[i] ? 1 : 0);
        return fromJava(MemorySegment.ofArray(bytes), DType.BOOL, data.length, shape);
    }

    /** Raw bfloat16 or float16 bit patterns. */
    public static Tensor ofHalfBits(short[] bits, DType dtype, long... shape) {
        if (dtype != DType.BF16 && dtype != DType.F16) throw new IllegalArgumentException("16-bit bits need bf16 or f16, got " + dtype);
        return fromJava(MemorySegment.ofArray(bits), dtype, bits.length, shape);
    }

    /** A 0-dim float64 tensor. */
    public static Tensor scalar(double value) {
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_scalar_to_tensor_float64(value, out), "aoti_torch_scalar_to_tensor_float64", "");
        return adopt(out.get(JAVA_LONG, 0));
    }

    /** A 0-dim float32 tensor. */
    public static Tensor scalar(float value) {
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_scalar_to_tensor_float32(value, out), "aoti_torch_scalar_to_tensor_float32", "");
        return adopt(out.get(JAVA_LONG, 0));
    }

    /** A 0-dim int64 tensor. */
    public static Tensor scalar(long value) {
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_scalar_to_tensor_int64(value, out), "aoti_torch_scalar_to_tensor_int64", "");
        return adopt(out.get(JAVA_LONG, 0));
    }

    private static Tensor fromJava(MemorySegment source, DType dtype, long length, long[] shape) {
        if (numel(shape) != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + numel(shape)
                    + " elements but the array has " + length);
        }
        Tensor t = empty(dtype, Device.CPU, shape);
        MemorySegment.copy(source, 0, t.dataSegment(), 0, length * dtype.byteSize());
        return t;
    }

    /**
     * A CPU tensor over {@code data} without copying. {@code data} must be native memory of at least
     * shape × dtype bytes, and its arena must outlive the tensor and all its views (see the class doc).
     */
    public static Tensor wrap(MemorySegment data, DType dtype, long... shape) {
        if (!data.isNative()) throw new IllegalArgumentException("wrap needs native memory; copy heap arrays with Tensor.of");
        // A read-only segment stays read-only: in-place ops on the tensor and its views are refused.
        long bytes = numel(shape) * dtype.byteSize();
        if (data.byteSize() < bytes) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is too small for shape "
                    + Arrays.toString(shape) + " " + dtype + " (" + bytes + " bytes)");
        }
        if (data.address() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("segment address is not aligned to " + dtype.byteSize() + " bytes for " + dtype);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = Scratch.get().cell;
            check(TorchStable.aoti_torch_create_tensor_from_blob(data, shape.length, arena.allocateFrom(JAVA_LONG, shape),
                    arena.allocateFrom(JAVA_LONG, contiguousStrides(shape)), 0, dtype.code(), Device.CPU.typeCode(),
                    Device.CPU.abiIndex(), out), "aoti_torch_create_tensor_from_blob", "shape " + Arrays.toString(shape));
            return new Tensor(MemorySegment.ofAddress(out.get(JAVA_LONG, 0)), data);
        }
    }

    // ---------------------------------------------------------------- metadata

    /** The handle, for a call that borrows it. Throws if this tensor is closed or its Java memory is gone. */
    MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("tensor used after close()");
        if (borrowed != null && !borrowed.scope().isAlive()) {
            throw new IllegalStateException("tensor views Java memory whose arena is closed (see Tensor.wrap)");
        }
        return handle;
    }

    /** A new handle to the same tensor, for a dispatcher stack slot (the dispatcher consumes it). */
    long newRef() {
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_new_tensor_handle(handle(), out), "aoti_torch_new_tensor_handle", "");
        return out.get(JAVA_LONG, 0);
    }

    public boolean isClosed() {
        return handle == null;
    }

    public int dim() {
        return shapeRef().length;
    }

    public long[] shape() {
        return shapeRef().clone();
    }

    /** Size of dimension {@code d}; negative counts from the end. */
    public long size(int d) {
        long[] s = shapeRef();
        int i = d < 0 ? d + s.length : d;
        if (i < 0 || i >= s.length) throw new IndexOutOfBoundsException("dimension " + d + " of a " + s.length + "-d tensor");
        return s[i];
    }

    public long numel() {
        return numel(shapeRef());
    }

    long[] shapeRef() {
        MemorySegment h = handle();
        if (shape == null) {
            MemorySegment out = Scratch.get().cell;
            check(TorchStable.aoti_torch_get_dim(h, out), "aoti_torch_get_dim", "");
            int dims = (int) out.get(JAVA_LONG, 0);
            check(TorchStable.aoti_torch_get_sizes(h, out), "aoti_torch_get_sizes", "");
            shape = dims == 0 ? new long[0] : out.get(ADDRESS, 0).reinterpret(8L * dims).toArray(JAVA_LONG);
        }
        return shape;
    }

    public long[] strides() {
        MemorySegment h = handle();
        MemorySegment out = Scratch.get().cell;
        int dims = dim();
        check(TorchStable.aoti_torch_get_strides(h, out), "aoti_torch_get_strides", "");
        return dims == 0 ? new long[0] : out.get(ADDRESS, 0).reinterpret(8L * dims).toArray(JAVA_LONG);
    }

    public DType dtype() {
        if (dtype == null) {
            MemorySegment out = Scratch.get().cell;
            check(TorchStable.aoti_torch_get_dtype(handle(), out), "aoti_torch_get_dtype", "");
            dtype = DType.fromCode(out.get(JAVA_INT, 0));
        }
        return dtype;
    }

    public Device device() {
        MemorySegment h = handle();
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_get_device_type(h, out), "aoti_torch_get_device_type", "");
        int type = out.get(JAVA_INT, 0);
        check(TorchStable.aoti_torch_get_device_index(h, out), "aoti_torch_get_device_index", "");
        return Device.fromCodes(type, out.get(JAVA_INT, 0));
    }

    public boolean isContiguous() {
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_is_contiguous(handle(), out), "aoti_torch_is_contiguous", "");
        return out.get(JAVA_BOOLEAN, 0);
    }

    /**
     * The elements of a contiguous CPU tensor as native memory, valid while this tensor is open.
     * Writes through it change the tensor.
     */
    public MemorySegment dataSegment() {
        if (!isContiguous()) throw new IllegalStateException("dataSegment needs a contiguous tensor; call contiguous() first");
        if (device().type() != Device.Type.CPU) throw new IllegalStateException("dataSegment needs a CPU tensor, this one is on " + device());
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_get_data_ptr(handle(), out), "aoti_torch_get_data_ptr", "");
        MemorySegment data = out.get(ADDRESS, 0).reinterpret(numel() * dtype().byteSize());
        return isReadOnly() ? data.asReadOnly() : data;
    }

    /**
     * The address of the first element of a contiguous tensor on any device (a device pointer on CUDA), for
     * native libraries that take raw buffers (NCCL); valid while this tensor is open.
     */
    public MemorySegment dataPointer() {
        if (!isContiguous()) throw new IllegalStateException("dataPointer needs a contiguous tensor; call contiguous() first");
        MemorySegment out = Scratch.get().cell;
        check(TorchStable.aoti_torch_get_data_ptr(handle(), out), "aoti_torch_get_data_ptr", "");
        return out.get(ADDRESS, 0);
    }

    /**
     * True when this tensor views read-only Java memory (e.g. a checkpoint mapped read-only). libtorch
     * cannot know that: writing into it would fault in native code, so in-place operations check this.
     */
    public boolean isReadOnly() {
        return borrowed != null && borrowed.isReadOnly();
    }

    /** The handle, for a call that writes into this tensor. */
    MemorySegment writableHandle(String op) {
        if (isReadOnly()) {
            throw new IllegalStateException(op + ": " + describe() + " views read-only memory (a memory-mapped file); "
                    + "make an owned copy (Copies.clone or the checkpoint's copy) before changing it");
        }
        return handle();
    }

    /** "[2, 3] float32 cpu", for messages. */
    public String describe() {
        if (handle == null) return "<closed tensor>";
        return Arrays.toString(shapeRef()) + " " + dtype() + " " + device();
    }

    @Override
    public String toString() {
        return "Tensor" + describe();
    }

    // ---------------------------------------------------------------- copies out

    public float[] toFloatArray() {
        return read(DType.F32, data -> data.toArray(ValueLayout.JAVA_FLOAT));
    }

    public double[] toDoubleArray() {
        return read(DType.F64, data -> data.toArray(ValueLayout.JAVA_DOUBLE));
    }

    public long[] toLongArray() {
        return read(DType.I64, data -> data.toArray(JAVA_LONG));
    }

    public int[] toIntArray() {
        return read(DType.I32, data -> data.toArray(JAVA_INT));
    }

    public boolean[] toBooleanArray() {
        byte[] bytes = read(DType.BOOL, data -> data.toArray(ValueLayout.JAVA_BYTE));
        boolean[] out = new boolean[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = bytes[i] != 0;
        return out;
    }

    /** Raw bit patterns of a bf16 or f16 tensor. */
    public short[] toHalfBits() {
        DType d = dtype();
        if (d != DType.BF16 && d != DType.F16) throw new IllegalStateException("toHalfBits needs bf16 or f16, got " + d);
        return read(d, data -> data.toArray(ValueLayout.JAVA_SHORT));
    }

    /** The value of a one-element tensor, as a double. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item() needs exactly one element, got shape " + Arrays.toString(shapeRef()));
        return toDoubleArray()[0];
    }

    /** Reads the elements in row-major order after converting them to {@code as} on the CPU (a copy when needed). */
    private <A> A read(DType as, java.util.function.Function<MemorySegment, A> reader) {
        if (numel() * as.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor " + describe() + " is too large to copy into one Java array");
        }
        try (TensorScope ignored = TensorScope.open()) {
            Tensor source = this;
            if (dtype() != as || device().type() != Device.Type.CPU || !isContiguous()) source = Copies.toCopy(this, as, Device.CPU);
            return reader.apply(source.dataSegment());
        }
    }

    // ---------------------------------------------------------------- views and conversions

    public Tensor view(long... shape) {
        return Views.view(this, shape);
    }

    public Tensor reshape(long... shape) {
        return Views.reshape(this, shape);
    }

    public Tensor transpose(int dim0, int dim1) {
        return Views.transpose(this, dim0, dim1);
    }

    public Tensor slice(int dim, long start, long end, long step) {
        return Views.slice(this, dim, start, end, step);
    }

    public Tensor narrow(int dim, long start, long length) {
        return Views.narrow(this, dim, start, length);
    }

    public Tensor contiguous() {
        return Views.contiguous(this);
    }

    public Tensor to(DType dtype) {
        return Copies.toCopy(this, dtype, device());
    }

    public Tensor to(Device device) {
        return Copies.toCopy(this, dtype(), device);
    }

    // ---------------------------------------------------------------- lifetime

    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        LIVE.decrementAndGet();
        check(TorchStable.aoti_torch_delete_tensor_object(h), "aoti_torch_delete_tensor_object", "");
    }

    // ---------------------------------------------------------------- helpers

    static void check(int rc, String function, String inputs) {
        if (rc != 0) throw new TorchException(function, inputs, NativeStderr.lastError());
    }

    /**
     * Like {@link #check(int, String, String)}, describing {@code inputs} only on failure: describing
     * reads metadata through the same scratch cell that may still hold the call's result.
     */
    static void check(int rc, String function, Tensor... inputs) {
        if (rc != 0) {
            java.util.StringJoiner j = new java.util.StringJoiner(", ", "(", ")");
            for (Tensor t : inputs) j.add(t.describe());
            throw new TorchException(function, j.toString(), NativeStderr.lastError());
        }
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] < 0) throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
            strides[i] = stride;
            stride *= Math.max(1, shape[i]);
        }
        return strides;
    }
}
