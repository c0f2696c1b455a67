/**
 * Explanation quality on any explainer's output: ERASER datasets and output files, faithfulness
 * (comprehensiveness, sufficiency, AOPC), plausibility against human rationales, and the diagnostic
 * properties of Atanasova et al. (2020). Definitions follow methods.md sections 2, 5 and 7.
 *
 * <p>Conventions shared by every class here:
 * <ul>
 *   <li>Per-token arrays index the words of one text (an ERASER document's whitespace tokens, or the
 *       {@link dev.maskopt.Encoding#words() words} of an encoding); in a selection or a gold rationale,
 *       {@code true} means "in the rationale"; in a keep mask, {@code true} means "kept".</li>
 *   <li>Removal levels are fractions of the words in [0, 1] (0.05 is 5%).</li>
 *   <li>Scores rank words by importance, higher first; ties are broken by position (see {@link
 *       dev.maskopt.eval.TopK}).</li>
 *   <li>Bad input (mismatched lengths, NaN scores, empty lists) throws {@link IllegalArgumentException}
 *       naming the offending document or position.</li>
 * </ul>
 */
package dev.maskopt.eval;
