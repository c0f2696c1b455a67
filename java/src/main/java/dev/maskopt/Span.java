package dev.maskopt;

/**
 * A contiguous run of rationale tokens.
 *
 * @param start first token index (inclusive)
 * @param end last token index (exclusive)
 * @param text the tokens joined by spaces
 */
public record Span(int start, int end, String text) {}
