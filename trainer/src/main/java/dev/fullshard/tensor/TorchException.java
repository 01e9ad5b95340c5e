package dev.fullshard.tensor;

/**
 * A libtorch call failed. Carries the operator, a description of its inputs (shape, dtype, device)
 * and libtorch's own message.
 */
public final class TorchException extends RuntimeException {
    private final String operator;
    private final String libtorchMessage;

    TorchException(String operator, String inputs, String libtorchMessage) {
        super(operator + " failed" + (inputs.isEmpty() ? "" : " for inputs " + inputs)
                + (libtorchMessage.isEmpty() ? " (libtorch's message was not captured)" : ": " + libtorchMessage));
        this.operator = operator;
        this.libtorchMessage = libtorchMessage;
    }

    /** The operator or C function that failed, e.g. "aten::mm". */
    public String operator() {
        return operator;
    }

    /** What libtorch itself said, or "" when stderr capture is off. */
    public String libtorchMessage() {
        return libtorchMessage;
    }
}
