package dev.fullshard.data;

import java.nio.file.Path;

/**
 * What the data pipeline needs from a tokenizer. {@link Tokenizer} is the real one; tests wrap it to
 * count calls (a token-cache hit must not encode anything).
 */
public interface TextEncoder {
    /** Token ids of {@code text}, with no special tokens added. */
    long[] encode(String text);

    /** The id of a token such as "</s>", or -1 when the vocabulary has no such token. */
    long tokenId(String token);

    /** The {@code tokenizer.json} this encoder was loaded from; its bytes are part of the token-cache key. */
    Path file();
}
