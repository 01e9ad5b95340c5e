package dev.fullshard.data;

/**
 * Where the data stream stands: the epoch, and the index of the next sequence in that epoch's
 * shuffled order. The trainer saves it in each checkpoint; {@link TrainingData#microBatch} from the
 * saved position continues exactly where the run stopped.
 */
public record DataPosition(int epoch, int sequence) {
    public static final DataPosition START = new DataPosition(0, 0);

    public DataPosition {
        if (epoch < 0 || sequence < 0) throw new IllegalArgumentException("data position must be non-negative, got epoch " + epoch + " sequence " + sequence);
    }
}
