/**
 * Baseline explainers (feature attribution) on the same {@link dev.maskopt.Classifier} and device as the mask
 * optimizer, for side-by-side comparisons (methods.md sections 4 and 5).
 *
 * <p>Every method implements {@link dev.maskopt.attribution.Attributor}: one soft score per <em>word</em> of
 * each {@link dev.maskopt.Encoding} for a target class. Conventions shared by all of them:
 * <ul>
 *   <li><b>Words.</b> Token-level scores (gradient methods) are <em>summed</em> over the tokens of a word, so a
 *       word split into several word pieces gets the total of its pieces; tokens that are never masked
 *       ({@code wordOfToken = -1}, such as [CLS]) get no score. Perturbation methods act on whole words.
 *   <li><b>Target.</b> {@code targets[i]} is the class explained for text {@code i}; a null array explains
 *       each text's predicted class.
 *   <li><b>Sign.</b> Positive scores support the target class (except the unsigned L2 and |gradient|
 *       variants of {@link dev.maskopt.attribution.Saliency}).
 *   <li><b>Batching.</b> Many perturbed or interpolated inputs go through one forward pass, in chunks of
 *       about 4096 tokens to bound device memory; tensors of a call are released before it returns.
 *   <li><b>Seeds.</b> Sampling methods draw text {@code i}'s random numbers from a stream derived from the
 *       seed and that text's token ids, so a text's scores do not depend on which texts share the call.
 *   <li><b>Configuration.</b> Each method is an immutable object: {@code create()} gives the defaults and
 *       {@code withX(...)} returns a modified copy; invalid values throw IllegalArgumentException.
 * </ul>
 */
package dev.maskopt.attribution;
