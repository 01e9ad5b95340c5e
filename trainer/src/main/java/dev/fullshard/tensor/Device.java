package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;

/** Where a tensor lives: the CPU, or CUDA device {@code index}. */
public record Device(Type type, int index) {
    public enum Type { CPU, CUDA }

    public static final Device CPU = new Device(Type.CPU, -1);

    public Device {
        if (type == Type.CPU && index != -1) throw new IllegalArgumentException("the CPU device has no index");
        if (type == Type.CUDA && index < 0) throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "cuda" (device 0) or "cuda:N". */
    public static Device parse(String text) {
        String s = text.strip().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("cuda")) return cuda(0);
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + text + "': expected cpu, cuda or cuda:N");
    }

    int typeCode() {
        return type == Type.CPU ? Codes.CPU : Codes.CUDA;
    }

    /** The index libtorch's C ABI expects: 0 for the CPU (which has no index), N for cuda:N. */
    int abiIndex() {
        return type == Type.CPU ? 0 : index;
    }

    static Device fromCodes(int typeCode, int index) {
        if (typeCode == Codes.CPU) return CPU;
        if (typeCode == Codes.CUDA) return cuda(index);
        throw new IllegalArgumentException("libtorch device type " + typeCode + " is not supported (cpu, cuda)");
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : "cuda:" + index;
    }

    private static final class Codes {
        static final int CPU = TorchStable.aoti_torch_device_type_cpu();
        static final int CUDA = TorchStable.aoti_torch_device_type_cuda();
    }
}
