package dev.fullshard.data;

import dev.fullshard.data.DataException.Reason;

import java.util.Map;
import java.util.TreeMap;

/**
 * What loading the data did, for the training log.
 *
 * @param lines            non-blank lines read (blank lines are ignored)
 * @param examples         examples kept
 * @param tokens           tokens in the kept examples, after truncation
 * @param truncated        examples longer than max_seq_len, cut to it
 * @param droppedNoTargets examples whose response was cut off entirely by truncation (nothing to train on)
 * @param skipped          bad lines skipped, per reason (only with skipBadLines)
 * @param cache            whether the token cache was used
 */
public record LoadReport(long lines, long examples, long tokens, long truncated, long droppedNoTargets, Map<Reason, Long> skipped,
                         CacheStatus cache) {
    public enum CacheStatus {
        /** Read from the token cache: the tokenizer was not called. */
        HIT,
        /** Tokenized and written to the cache (there was none). */
        BUILT,
        /** The cached file failed validation; tokenized again and rewritten. */
        REBUILT_CORRUPT
    }

    public LoadReport {
        skipped = Map.copyOf(skipped);
    }

    public long skippedTotal() {
        return skipped.values().stream().mapToLong(Long::longValue).sum();
    }

    LoadReport withCache(CacheStatus status) {
        return new LoadReport(lines, examples, tokens, truncated, droppedNoTargets, skipped, status);
    }

    @Override
    public String toString() {
        return examples + " examples, " + tokens + " tokens from " + lines + " lines; " + truncated + " truncated, "
                + droppedNoTargets + " dropped (no targets left), skipped " + new TreeMap<>(skipped) + "; cache " + cache;
    }
}
