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

    /** The token put before every example, or -1 for none (default: {@code <s>} if the vocabulary has it). */
    default long bosId() {
        return tokenId("<s>");
    }

    /** The token that ends every example, or -1 when there is none (default: {@code </s>}). */
    default long eosId() {
        return tokenId("</s>");
    }

    /** The {@code tokenizer.json} this encoder was loaded from; its bytes are part of the token-cache key. */
    Path file();
}
