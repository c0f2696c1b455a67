package dev.maskopt;

/**
 * A contiguous run of rationale words.
 *
 * @param start first word index (inclusive)
 * @param end last word index (exclusive)
 * @param text the words joined by spaces
 */
public record Span(int start, int end, String text) {}
