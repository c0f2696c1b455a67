package dev.maskopt.kernels;

/**
 * The independent oracle: every operation of {@code native/include/maskopt.h} in double precision, written
 * from the header's formulas and methods.md (sections 1 and 3), not from the float kernels. Only Philox and
 * the uniform mapping are bit-exact copies of the specification, because the samplers' outputs depend on
 * them bit for bit. Inputs are the float values the kernels receive, widened to double; hyperparameters
 * likewise. Layouts are row-major, as in the header.
 */
final class Reference {
    private Reference() {}

    static final float U_EPS = 1e-6f;
    static final double KUMA_MIN = 1e-6f; // the float constants of maskopt.h, widened
    static final double KUMA_MAX = 100.0f;

    // ---- Philox4x32-10 (Salmon et al. 2011) and the gates' uniform ----------------------------------

    private static final long M32 = 0xffffffffL;

    /** Random123's philox4x32_R(10, ctr, key): unsigned 32-bit words held in longs. */
    static int[] philox4x32_10(int c0, int c1, int c2, int c3, int k0, int k1) {
        long x0 = c0 & M32, x1 = c1 & M32, x2 = c2 & M32, x3 = c3 & M32;
        long key0 = k0 & M32, key1 = k1 & M32;
        for (int round = 0; round < 10; round++) {
            if (round > 0) { // the key schedule bumps the key before every round but the first
                key0 = (key0 + 0x9E3779B9L) & M32;
                key1 = (key1 + 0xBB67AE85L) & M32;
            }
            long p0 = 0xD2511F53L * x0; // a full 64-bit product; only its bits matter, so overflow is harmless
            long p1 = 0xCD9E8D57L * x2;
            long y0 = (p1 >>> 32) ^ x1 ^ key0;
            long y2 = (p0 >>> 32) ^ x3 ^ key1;
            x0 = y0;
            x1 = p1 & M32;
            x2 = y2;
            x3 = p0 & M32;
        }
        return new int[] {(int) x0, (int) x1, (int) x2, (int) x3};
    }

    /** The uniform of maskopt.h: counter (t, n, s, step), key (seed low, seed high), first output word. */
    static float uniform(long seed, long step, long s, long n, long t) {
        int[] x = philox4x32_10((int) t, (int) n, (int) s, (int) step, (int) seed, (int) (seed >>> 32));
        return uniformFromBits(x[0]);
    }

    /** u = ((x >>> 8) + 0.5) 2^-24 in float arithmetic (the sum rounds to even above 2^23), then clamped. */
    static float uniformFromBits(int x) {
        float u = ((float) (x >>> 8) + 0.5f) * 0x1p-24f;
        return Math.min(Math.max(u, U_EPS), 1.0f - U_EPS);
    }

    /** u [S,N,T]. */
    static float[] uniforms(long seed, long step, int S, int N, int T) {
        float[] u = new float[S * N * T];
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < T; t++) u[(s * N + n) * T + t] = uniform(seed, step, s, n, t);
        return u;
    }

    // ---- small numerics --------------------------------------------------------------------------

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    static double clamp01(double x) {
        return Math.min(Math.max(x, 0.0), 1.0);
    }

    private static final double[] LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
        771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};

    /** log Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative), reflection below 1/2. */
    static double lgamma(double x) {
        if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
        x -= 1;
        double a = LANCZOS[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    }

    // ---- samples of either gate: z [S,N,T], dz [P,S,N,T], and where dz is ill-conditioned ------------

    static final class Samples {
        final double[] z, dz;
        /** [S,N,T]: the stretched value lies within NEAR_CLAMP of 0 or 1, where float may clamp differently. */
        final boolean[] nearClamp;

        Samples(int P, int SNT) {
            z = new double[SNT];
            dz = new double[P * SNT];
            nearClamp = new boolean[SNT];
        }

        /** The clamp mask repeated for each of the P gradient planes. */
        boolean[] dzSkip() {
            int SNT = z.length, P = dz.length / SNT;
            boolean[] skip = new boolean[dz.length];
            for (int p = 0; p < P; p++) System.arraycopy(nearClamp, 0, skip, p * SNT, SNT);
            return skip;
        }
    }

    private static final double NEAR_CLAMP = 1e-4;

    private static boolean nearClamp(double stretched) {
        return Math.abs(stretched) < NEAR_CLAMP || Math.abs(stretched - 1) < NEAR_CLAMP;
    }

    // ---- hard concrete (methods.md section 3) ------------------------------------------------------

    /** One sample from uniform u: {z, dz/dlog alpha, stretched value s-bar}. */
    static double[] hcSample(double u, double logalpha, double beta, double l, double r) {
        double noise = Math.log(u / (1 - u)); // logistic noise
        double s = sigmoid((noise + logalpha) / beta);
        double sbar = l + (r - l) * s;
        // d sbar / d logalpha = (r - l) s (1 - s) / beta, blocked by the clamp outside (0, 1)
        double dz = sbar > 0 && sbar < 1 ? (r - l) * s * (1 - s) / beta : 0;
        return new double[] {clamp01(sbar), dz, sbar};
    }

    static Samples hcSample(double[] logalpha, int[] lengths, int S, int N, int T, double beta, double l, double r,
            long seed, long step) {
        Samples out = new Samples(1, S * N * T);
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < lengths[n]; t++) {
                    int i = (s * N + n) * T + t;
                    double[] one = hcSample(uniform(seed, step, s, n, t), logalpha[n * T + t], beta, l, r);
                    out.z[i] = one[0];
                    out.dz[i] = one[1];
                    out.nearClamp[i] = nearClamp(one[2]);
                }
        return out;
    }

    static double hcGate(double logalpha, double l, double r) {
        return clamp01(l + (r - l) * sigmoid(logalpha));
    }

    /** P(z != 0) = P(s-bar > 0) = P(s > -l/(r-l)), i.e. sigmoid(log alpha - beta log(-l/r)). */
    static double hcProbOpen(double logalpha, double beta, double l, double r) {
        return sigmoid(logalpha - beta * Math.log(-l / r));
    }

    static double[] hcGate(double[] logalpha, int[] lengths, int N, int T, double l, double r) {
        double[] z = new double[N * T];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++) z[n * T + t] = hcGate(logalpha[n * T + t], l, r);
        return z;
    }

    static double[] hcProbOpen(double[] logalpha, int[] lengths, int N, int T, double beta, double l, double r) {
        double[] p = new double[N * T];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++) p[n * T + t] = hcProbOpen(logalpha[n * T + t], beta, l, r);
        return p;
    }

    /** reg [N,2] and dInit + w_l0 d reg0 + w_trans d reg1 (d/d log alpha; padding left as dInit). */
    static double[][] hcRegularize(double[] dInit, double[] logalpha, int[] lengths, int N, int T, double beta,
            double l, double r, double wL0, double wTrans) {
        double[] p = new double[N * T], dp = new double[N * T];
        for (int i = 0; i < N * T; i++) {
            p[i] = hcProbOpen(logalpha[i], beta, l, r);
            dp[i] = p[i] * (1 - p[i]); // the derivative of a sigmoid in its argument
        }
        return regularize(dInit, p, new double[][] {dp}, lengths, N, T, wL0, wTrans);
    }

    /** hcRegularize with the L0 weight of row n = wL0Rows[n] (mo_hc_regularize_rows). */
    static double[][] hcRegularizeRows(double[] dInit, double[] logalpha, int[] lengths, double[] wL0Rows, int N,
            int T, double beta, double l, double r, double wTrans) {
        double[] p = new double[N * T], dp = new double[N * T];
        for (int i = 0; i < N * T; i++) {
            p[i] = hcProbOpen(logalpha[i], beta, l, r);
            dp[i] = p[i] * (1 - p[i]);
        }
        return regularize(dInit, p, new double[][] {dp}, lengths, N, T, wL0Rows, wTrans);
    }

    /**
     * The expected-L0 and expected-transition terms shared by both gates, given p_t = P(z_t != 0) and the
     * derivatives dp[k] of p w.r.t. each of the P parameters. Returns {reg [N,2], d [P,N,T]}.
     */
    static double[][] regularize(double[] dInit, double[] p, double[][] dp, int[] lengths, int N, int T, double wL0,
            double wTrans) {
        double[] rows = new double[N];
        java.util.Arrays.fill(rows, wL0);
        return regularize(dInit, p, dp, lengths, N, T, rows, wTrans);
    }

    /** As above with the L0 weight of row n = wL0Rows[n]. */
    static double[][] regularize(double[] dInit, double[] p, double[][] dp, int[] lengths, int N, int T,
            double[] wL0Rows, double wTrans) {
        double[] reg = new double[2 * N];
        double[] d = dInit.clone();
        for (int n = 0; n < N; n++) {
            int len = lengths[n], o = n * T;
            double l0 = 0, trans = 0;
            for (int t = 0; t < len; t++) l0 += p[o + t];
            // P(z_t and z_t+1 differ in being 0) for independent gates
            for (int t = 0; t + 1 < len; t++) trans += p[o + t] * (1 - p[o + t + 1]) + (1 - p[o + t]) * p[o + t + 1];
            reg[2 * n] = l0 / len;
            reg[2 * n + 1] = trans / len;
            for (int t = 0; t < len; t++) {
                // p_t appears in the transition with its left and right neighbours
                double dTrans = 0;
                if (t > 0) dTrans += 1 - 2 * p[o + t - 1];
                if (t + 1 < len) dTrans += 1 - 2 * p[o + t + 1];
                double dRegDp = (wL0Rows[n] + wTrans * dTrans) / len;
                for (int k = 0; k < dp.length; k++) d[k * N * T + o + t] += dRegDp * dp[k][o + t];
            }
        }
        return new double[][] {reg, d};
    }

    // ---- HardKuma (methods.md section 1) ---------------------------------------------------------

    /** exp(log p) clamped to [KUMA_MIN, KUMA_MAX]. */
    static double kumaParam(double logp) {
        return Math.min(Math.max(Math.exp(logp), KUMA_MIN), KUMA_MAX);
    }

    /** Whether the clamp is inactive, so the gradient flows. */
    static boolean kumaFree(double logp) {
        double x = Math.exp(logp);
        return x > KUMA_MIN && x < KUMA_MAX;
    }

    /** One sample by the inverse CDF k = (1 - (1-u)^(1/b))^(1/a): {z, dz/dlog a, dz/dlog b, stretched t}. */
    static double[] kumaSample(double u, double loga, double logb, double l, double r) {
        double a = kumaParam(loga), b = kumaParam(logb);
        double logv = Math.log1p(-u) / b; // v = (1-u)^(1/b) in log space (v near 1 for large b)
        double v = Math.exp(logv);
        double oneMinusV = -Math.expm1(logv);
        double logk = Math.log(oneMinusV) / a;
        double k = Math.exp(logk);
        double t = l + (r - l) * k;
        double dza = 0, dzb = 0;
        if (t > 0 && t < 1) {
            // dk/da = -k ln k / a and dk/db = k v ln v / (a b (1-v)); times a (resp. b) for the log parameters
            if (kumaFree(loga)) dza = -(r - l) * k * logk;
            if (kumaFree(logb)) dzb = (r - l) * k * v * logv / (a * oneMinusV);
        }
        return new double[] {clamp01(t), dza, dzb, t};
    }

    /** params [2,N,T]; z [S,N,T], dz [2,S,N,T]. */
    static Samples kumaSample(double[] params, int[] lengths, int S, int N, int T, double l, double r, long seed,
            long step) {
        int NT = N * T, SNT = S * NT;
        Samples out = new Samples(2, SNT);
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < lengths[n]; t++) {
                    int i = (s * N + n) * T + t, j = n * T + t;
                    double[] one = kumaSample(uniform(seed, step, s, n, t), params[j], params[NT + j], l, r);
                    out.z[i] = one[0];
                    out.dz[i] = one[1];
                    out.dz[SNT + i] = one[2];
                    out.nearClamp[i] = nearClamp(one[3]);
                }
        return out;
    }

    /** {P(z=0), P(z=1)} = {F(u0), 1 - F(u1)} with the Kuma CDF F(x) = 1 - (1 - x^a)^b. */
    static double[] kumaProbs(double loga, double logb, double l, double r) {
        double a = kumaParam(loga), b = kumaParam(logb);
        double u0 = -l / (r - l), u1 = (1 - l) / (r - l);
        double p0 = -Math.expm1(b * Math.log1p(-Math.pow(u0, a)));
        double p1 = Math.exp(b * Math.log1p(-Math.pow(u1, a)));
        return new double[] {p0, p1};
    }

    /** {p0 [N,T], p1 [N,T]}. */
    static double[][] kumaProbs(double[] params, int[] lengths, int N, int T, double l, double r) {
        double[] p0 = new double[N * T], p1 = new double[N * T];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++) {
                int j = n * T + t;
                double[] p = kumaProbs(params[j], params[N * T + j], l, r);
                p0[j] = p[0];
                p1[j] = p[1];
            }
        return new double[][] {p0, p1};
    }

    /** E[K] = b B(1 + 1/a, b) of the unstretched Kuma(a, b). */
    static double kumaMean(double a, double b) {
        return b * Math.exp(lgamma(1 + 1 / a) + lgamma(b) - lgamma(1 + 1 / a + b));
    }

    /** The test-time gate: the most likely of {0, 1, continuous}; the continuous value is E[K]. */
    static double kumaGate(double loga, double logb, double l, double r) {
        double[] p = kumaProbs(loga, logb, l, r);
        double pc = 1 - p[0] - p[1];
        if (pc > p[0] && pc > p[1]) return kumaMean(kumaParam(loga), kumaParam(logb));
        return p[0] > p[1] ? 0 : 1;
    }

    /** Whether the gate's three-way decision is within `margin` of a tie (float may decide otherwise). */
    static boolean kumaGateAmbiguous(double loga, double logb, double l, double r, double margin) {
        double[] p = kumaProbs(loga, logb, l, r);
        double pc = 1 - p[0] - p[1];
        return Math.abs(p[0] - p[1]) < margin || Math.abs(pc - p[0]) < margin || Math.abs(pc - p[1]) < margin;
    }

    static double[] kumaGate(double[] params, int[] lengths, int N, int T, double l, double r) {
        double[] z = new double[N * T];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++) {
                int j = n * T + t;
                z[j] = kumaGate(params[j], params[N * T + j], l, r);
            }
        return z;
    }

    /** As hcRegularize with p = 1 - P0; d [2,N,T] = (d/dlog a, d/dlog b). */
    static double[][] kumaRegularize(double[] dInit, double[] params, int[] lengths, int N, int T, double l, double r,
            double wL0, double wTrans) {
        double[] rows = new double[N];
        java.util.Arrays.fill(rows, wL0);
        return kumaRegularizeRows(dInit, params, lengths, rows, N, T, l, r, wTrans);
    }

    /** kumaRegularize with the L0 weight of row n = wL0Rows[n] (mo_kuma_regularize_rows). */
    static double[][] kumaRegularizeRows(double[] dInit, double[] params, int[] lengths, double[] wL0Rows, int N,
            int T, double l, double r, double wTrans) {
        int NT = N * T;
        double lnu0 = Math.log(-l / (r - l));
        double[] p = new double[NT], dpa = new double[NT], dpb = new double[NT];
        for (int j = 0; j < NT; j++) {
            double loga = params[j], logb = params[NT + j];
            double a = kumaParam(loga), b = kumaParam(logb);
            double y = Math.exp(a * lnu0); // u0^a
            p[j] = Math.pow(1 - y, b);     // 1 - P0
            // d(1-y)^b / da = -b (1-y)^(b-1) y ln u0, and / db = (1-y)^b ln(1-y); chain with d a / d log a = a
            dpa[j] = kumaFree(loga) ? -a * b * Math.pow(1 - y, b - 1) * y * lnu0 : 0;
            dpb[j] = kumaFree(logb) ? b * p[j] * Math.log1p(-y) : 0;
        }
        return regularize(dInit, p, new double[][] {dpa, dpb}, lengths, N, T, wL0Rows, wTrans);
    }

    // ---- target selection rate (methods.md section 1, GECO-style multiplier) ---------------------------

    /**
     * One multiplier step per row: c = reg[n,0] - rho; cma = alpha cma + (1 - alpha) c;
     * lambda = clamp(lambda exp(eta cma), lo, hi). Returns {lambda [N], cma [N]}.
     */
    static double[][] rateMultiplier(double[] lambda, double[] cma, double[] reg, int N, double rho, double eta,
            double alpha, double lo, double hi) {
        double[] lam = new double[N], m = new double[N];
        for (int n = 0; n < N; n++) {
            m[n] = alpha * cma[n] + (1 - alpha) * (reg[2 * n] - rho);
            lam[n] = Math.min(Math.max(lambda[n] * Math.exp(eta * m[n]), lo), hi);
        }
        return new double[][] {lam, m};
    }

    /** mo_rate_control: cma as rateMultiplier; w = clamp(gain cma, lo, hi). Returns {w [N], cma [N]}. */
    static double[][] rateControl(double[] cma, double[] reg, int N, double rho, double gain, double alpha, double lo,
            double hi) {
        double[] w = new double[N], m = new double[N];
        for (int n = 0; n < N; n++) {
            m[n] = alpha * cma[n] + (1 - alpha) * (reg[2 * n] - rho);
            w[n] = Math.min(Math.max(gain * m[n], lo), hi);
        }
        return new double[][] {w, m};
    }

    // ---- masked mix ------------------------------------------------------------------------------

    /** out [2,S,N,T,D]: keep = z E + (1-z) B, drop = (1-z) E + z B; 0 at padding. */
    static double[] mixForward(double[] z, double[] emb, double[] base, int[] lengths, int S, int N, int T, int D,
            boolean basePerPosition) {
        int SNT = S * N * T;
        double[] out = new double[2 * SNT * D];
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < lengths[n]; t++) {
                    int row = (s * N + n) * T + t, nt = n * T + t;
                    double zv = z[row];
                    for (int d = 0; d < D; d++) {
                        double e = emb[nt * D + d], b = base[basePerPosition ? nt * D + d : d];
                        out[row * D + d] = zv * e + (1 - zv) * b;
                        out[(SNT + row) * D + d] = (1 - zv) * e + zv * b;
                    }
                }
        return out;
    }

    /** d_theta [P,N,T] = sum_s (d keep/dz . d_out_keep + d drop/dz . d_out_drop) dz[p,s]; 0 at padding. */
    static double[] mixBackward(double[] dOut, double[] dz, double[] emb, double[] base, int[] lengths, int P, int S,
            int N, int T, int D, boolean basePerPosition) {
        int NT = N * T, SNT = S * NT;
        double[] dTheta = new double[P * NT];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++) {
                int nt = n * T + t;
                for (int s = 0; s < S; s++) {
                    int row = s * NT + nt;
                    // d keep / dz = E - B and d drop / dz = B - E
                    double g = 0;
                    for (int d = 0; d < D; d++) {
                        double diff = emb[nt * D + d] - base[basePerPosition ? nt * D + d : d];
                        g += diff * dOut[row * D + d] - diff * dOut[(SNT + row) * D + d];
                    }
                    for (int p = 0; p < P; p++) dTheta[p * NT + nt] += g * dz[p * SNT + row];
                }
            }
        return dTheta;
    }

    // ---- objectives ------------------------------------------------------------------------------

    /** log sum_c exp(x[off + c]) over c != skip (skip = -1: every class), max-shifted. */
    static double logSumExp(double[] x, int off, int C, int skip) {
        double m = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < C; c++) if (c != skip) m = Math.max(m, x[off + c]);
        double sum = 0;
        for (int c = 0; c < C; c++) if (c != skip) sum += Math.exp(x[off + c] - m);
        return m + Math.log(sum);
    }

    /** {loss [N,2], d_logits [2,S,N,C]} of the sufficiency + comprehensiveness objective. */
    static double[][] objective(double[] logits, int[] target, int S, int N, int C, double wSuff, double wComp) {
        double[] loss = new double[2 * N], d = new double[2 * S * N * C];
        for (int n = 0; n < N; n++) {
            int y = target[n];
            for (int s = 0; s < S; s++) {
                int keep = (s * N + n) * C, drop = ((S + s) * N + n) * C;
                // sufficiency: -log softmax(keep)_y; gradient softmax - onehot(y)
                double lse = logSumExp(logits, keep, C, -1);
                loss[2 * n] += (lse - logits[keep + y]) / S;
                for (int c = 0; c < C; c++)
                    d[keep + c] = wSuff / S * (Math.exp(logits[keep + c] - lse) - (c == y ? 1 : 0));
                // comprehensiveness: -log(1 - softmax(drop)_y) = LSE_all - LSE_{c != y};
                // gradient softmax - (softmax restricted to c != y)
                double all = logSumExp(logits, drop, C, -1), rest = logSumExp(logits, drop, C, y);
                loss[2 * n + 1] += (all - rest) / S;
                for (int c = 0; c < C; c++) {
                    double restProb = c == y ? 0 : Math.exp(logits[drop + c] - rest);
                    d[drop + c] = wComp / S * (Math.exp(logits[drop + c] - all) - restProb);
                }
            }
        }
        return new double[][] {loss, d};
    }

    /** {loss [B], d_logits [B,C] = scale (softmax - onehot)}. */
    static double[][] crossEntropy(double[] logits, int[] labels, int B, int C, double scale) {
        double[] loss = new double[B], d = new double[B * C];
        for (int b = 0; b < B; b++) {
            double lse = logSumExp(logits, b * C, C, -1);
            loss[b] = lse - logits[b * C + labels[b]];
            for (int c = 0; c < C; c++)
                d[b * C + c] = scale * (Math.exp(logits[b * C + c] - lse) - (c == labels[b] ? 1 : 0));
        }
        return new double[][] {loss, d};
    }

    static double[] softmax(double[] logits, int B, int C) {
        double[] p = new double[B * C];
        for (int b = 0; b < B; b++) {
            double lse = logSumExp(logits, b * C, C, -1);
            for (int c = 0; c < C; c++) p[b * C + c] = Math.exp(logits[b * C + c] - lse);
        }
        return p;
    }

    // ---- optimizer -------------------------------------------------------------------------------

    /** One AdamW step, in place on param, m, v (decoupled decay first, bias corrections 1 - beta^step). */
    static void adamUpdate(double[] param, double[] m, double[] v, double[] grad, double lr, double beta1,
            double beta2, double eps, double weightDecay, long step) {
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < param.length; i++) {
            param[i] *= 1 - lr * weightDecay;
            m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i];
            param[i] -= lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + eps);
        }
    }

    // ---- embeddings ------------------------------------------------------------------------------

    static double[] embed(int[] ids, int[] lengths, double[] table, int N, int T, int D) {
        double[] out = new double[N * T * D];
        for (int n = 0; n < N; n++)
            for (int t = 0; t < lengths[n]; t++)
                System.arraycopy(table, ids[n * T + t] * D, out, (n * T + t) * D, D);
        return out;
    }

    // ---- 1-D CNN (Kim 2014) ----------------------------------------------------------------------

    /** Offsets into the flat parameter vector: for each k, W_k [F,w_k,D] then b_k [F]; then fc_W [C,KF], fc_b [C]. */
    static final class Cnn {
        final int[] widths, wOff, bOff;
        final int K, F, C, D, KF, fcW, fcB, count;

        Cnn(int[] widths, int F, int C, int D) {
            this.widths = widths.clone();
            this.K = widths.length;
            this.F = F;
            this.C = C;
            this.D = D;
            this.KF = K * F;
            wOff = new int[K];
            bOff = new int[K];
            int off = 0;
            for (int k = 0; k < K; k++) {
                wOff[k] = off;
                off += F * widths[k] * D;
                bOff[k] = off;
                off += F;
            }
            fcW = off;
            fcB = fcW + C * KF;
            count = fcB + C;
        }

        /** W_k[f, i, d]. */
        int w(int k, int f, int i, int d) {
            return wOff[k] + (f * widths[k] + i) * D + d;
        }

        /** Number of window starts for a row of length L: max(L - w + 1, 1). */
        static int windows(int L, int w) {
            return Math.max(L - w + 1, 1);
        }
    }

    static final class CnnForward {
        double[] logits, feat;
        int[] argmax;
        /** [B,KF]: best window score minus the runner-up (infinite with one window): small means a near tie. */
        double[] gap;
        /** [B,KF]: the best window score before the relu. */
        double[] pre;
    }

    /** Score of window p: b_k[f] + sum_{i<w,d} W_k[f,i,d] x[b,p+i,d], rows >= L reading as 0. */
    private static double window(double[] x, double[] params, Cnn c, int b, int T, int L, int k, int f, int p) {
        double sum = params[c.bOff[k] + f];
        for (int i = 0; i < c.widths[k] && p + i < L; i++)
            for (int d = 0; d < c.D; d++) sum += params[c.w(k, f, i, d)] * x[(b * T + p + i) * c.D + d];
        return sum;
    }

    static CnnForward cnnForward(double[] x, int[] lengths, double[] params, Cnn c, int B, int T) {
        CnnForward out = new CnnForward();
        out.logits = new double[B * c.C];
        out.feat = new double[B * c.KF];
        out.argmax = new int[B * c.KF];
        out.gap = new double[B * c.KF];
        out.pre = new double[B * c.KF];
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < c.K; k++)
                for (int f = 0; f < c.F; f++) {
                    double best = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
                    int arg = -1;
                    for (int p = 0; p < Cnn.windows(lengths[b], c.widths[k]); p++) {
                        double v = window(x, params, c, b, T, lengths[b], k, f, p);
                        if (v > best) { // strict: the first maximizing window wins
                            second = best;
                            best = v;
                            arg = p;
                        } else {
                            second = Math.max(second, v);
                        }
                    }
                    int j = b * c.KF + k * c.F + f;
                    out.pre[j] = best;
                    out.feat[j] = Math.max(best, 0);
                    out.argmax[j] = arg;
                    out.gap[j] = best - second;
                }
            for (int cl = 0; cl < c.C; cl++) {
                double sum = params[c.fcB + cl];
                for (int j = 0; j < c.KF; j++) sum += params[c.fcW + cl * c.KF + j] * out.feat[b * c.KF + j];
                out.logits[b * c.C + cl] = sum;
            }
        }
        return out;
    }

    /** dfeat [B,KF] = relu'(feat) (fc_W^T d_logits), with relu'(0) = 0. */
    private static double[] featureGrad(double[] dLogits, double[] feat, double[] params, Cnn c, int B) {
        double[] dfeat = new double[B * c.KF];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < c.KF; j++) {
                if (!(feat[b * c.KF + j] > 0)) continue;
                double g = 0;
                for (int cl = 0; cl < c.C; cl++) g += dLogits[b * c.C + cl] * params[c.fcW + cl * c.KF + j];
                dfeat[b * c.KF + j] = g;
            }
        return dfeat;
    }

    /** dx [B,T,D]: each active filter sends its weights back onto the rows of its maximizing window (rows < L). */
    static double[] cnnBackwardInput(double[] dLogits, double[] feat, int[] argmax, int[] lengths, double[] params,
            Cnn c, int B, int T) {
        double[] dfeat = featureGrad(dLogits, feat, params, c, B);
        double[] dx = new double[B * T * c.D];
        for (int b = 0; b < B; b++)
            for (int k = 0; k < c.K; k++)
                for (int f = 0; f < c.F; f++) {
                    int j = b * c.KF + k * c.F + f, p = argmax[j];
                    for (int i = 0; i < c.widths[k] && p + i < lengths[b]; i++)
                        for (int d = 0; d < c.D; d++)
                            dx[(b * T + p + i) * c.D + d] += dfeat[j] * params[c.w(k, f, i, d)];
                }
        return dx;
    }

    /** d_params, same layout as params, summed over rows. */
    static double[] cnnBackwardParams(double[] dLogits, double[] feat, int[] argmax, double[] x, int[] lengths,
            double[] params, Cnn c, int B, int T) {
        double[] dfeat = featureGrad(dLogits, feat, params, c, B);
        double[] dp = new double[c.count];
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < c.K; k++)
                for (int f = 0; f < c.F; f++) {
                    int j = b * c.KF + k * c.F + f, p = argmax[j];
                    dp[c.bOff[k] + f] += dfeat[j];
                    for (int i = 0; i < c.widths[k] && p + i < lengths[b]; i++)
                        for (int d = 0; d < c.D; d++) dp[c.w(k, f, i, d)] += dfeat[j] * x[(b * T + p + i) * c.D + d];
                }
            for (int cl = 0; cl < c.C; cl++) {
                double g = dLogits[b * c.C + cl];
                dp[c.fcB + cl] += g;
                for (int j = 0; j < c.KF; j++) dp[c.fcW + cl * c.KF + j] += g * feat[b * c.KF + j];
            }
        }
        return dp;
    }

    // ---- word-level gates ------------------------------------------------------------------------

    /** out [P,S,N,T] = in [P,S,N,W] at group[n,t] for t < len and group >= 0; 0 elsewhere. */
    static double[] gatherGates(double[] in, int[] group, int[] lengths, int P, int S, int N, int T, int W) {
        double[] out = new double[P * S * N * T];
        for (int ps = 0; ps < P * S; ps++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < lengths[n]; t++) {
                    int w = group[n * T + t];
                    if (w >= 0) out[(ps * N + n) * T + t] = in[(ps * N + n) * W + w];
                }
        return out;
    }

    /** out [P,N,W] = sum over t < len with group[n,t] = w of in [P,N,T] (0 for empty words). */
    static double[] segmentSum(double[] in, int[] group, int[] lengths, int P, int N, int T, int W) {
        double[] out = new double[P * N * W];
        for (int p = 0; p < P; p++)
            for (int n = 0; n < N; n++)
                for (int t = 0; t < lengths[n]; t++) {
                    int w = group[n * T + t];
                    if (w >= 0) out[(p * N + n) * W + w] += in[(p * N + n) * T + t];
                }
        return out;
    }

    // ---- transformer encoder ops -----------------------------------------------------------------

    /**
     * c [M,N] = a [M,K] op(b) + bias [N] + beta c0, op(b) = b [K,N] (transB false) or b^T for b [N,K] (transB
     * true); bias may be null, c0 is only read when beta != 0.
     */
    static double[] matmul(double[] c0, double[] a, double[] b, double[] bias, int M, int N, int K, boolean transB,
            double beta) {
        double[] c = new double[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double sum = 0;
                for (int k = 0; k < K; k++) sum += a[m * K + k] * (transB ? b[n * K + k] : b[k * N + n]);
                if (bias != null) sum += bias[n];
                if (beta != 0) sum += beta * c0[m * N + n];
                c[m * N + n] = sum;
            }
        return c;
    }

    static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = a[i] + b[i];
        return y;
    }

    /** y [B,T,D] = x + pos[t] + type for t < len, 0 at padding; pos [>= T, D], type [D]. */
    static double[] addPosition(double[] x, double[] pos, double[] type, int[] lengths, int B, int T, int D) {
        double[] y = new double[B * T * D];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int d = 0; d < D; d++) {
                    int i = (b * T + t) * D + d;
                    y[i] = x[i] + pos[t * D + d] + type[d];
                }
        return y;
    }

    /** {y [R,D], mean [R], rstd [R]}: y = (x - mean) rstd gamma + beta, rstd = 1 / sqrt(population var + eps). */
    static double[][] layernormForward(double[] x, double[] gamma, double[] beta, int R, int D, double eps) {
        double[] y = new double[R * D], mean = new double[R], rstd = new double[R];
        for (int r = 0; r < R; r++) {
            double mu = 0;
            for (int d = 0; d < D; d++) mu += x[r * D + d];
            mu /= D;
            double var = 0; // two passes: no cancellation
            for (int d = 0; d < D; d++) var += (x[r * D + d] - mu) * (x[r * D + d] - mu);
            var /= D;
            double rs = 1 / Math.sqrt(var + eps);
            mean[r] = mu;
            rstd[r] = rs;
            for (int d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mu) * rs * gamma[d] + beta[d];
        }
        return new double[][] {y, mean, rstd};
    }

    /**
     * dx [R,D] given the saved mean and rstd. With xhat = (x - mean) rstd and g = dy gamma, and
     * d rstd / d x_i = -rstd^3 (x_i - mean) / D (eps included):
     * dx = rstd (g - mean(g) - xhat mean(g xhat)).
     */
    static double[] layernormBackward(double[] dy, double[] x, double[] mean, double[] rstd, double[] gamma, int R,
            int D) {
        double[] dx = new double[R * D];
        for (int r = 0; r < R; r++) {
            double mg = 0, mgx = 0;
            for (int d = 0; d < D; d++) {
                double g = dy[r * D + d] * gamma[d], xhat = (x[r * D + d] - mean[r]) * rstd[r];
                mg += g;
                mgx += g * xhat;
            }
            mg /= D;
            mgx /= D;
            for (int d = 0; d < D; d++) {
                double g = dy[r * D + d] * gamma[d], xhat = (x[r * D + d] - mean[r]) * rstd[r];
                dx[r * D + d] = rstd[r] * (g - mg - xhat * mgx);
            }
        }
        return dx;
    }

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
    private static final double INV_SQRT_2PI = 0.3989422804014327;     // 1 / sqrt(2 pi)

    /**
     * erfc(x) in double (~1e-15 relative): below 1.5 as 1 - erf(x) from erf's everywhere-positive series
     * erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)) (no cancellation), and for x >= 1.5
     * from the continued fraction erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
     * evaluated bottom-up; erfc(-x) = 2 - erfc(x).
     */
    static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        if (x < 0) return 2 - erfc(-x);
        if (x < 1.5) return 1 - erfSeries(x);
        if (x > 27) return 0; // below the smallest double
        double f = x;
        for (int k = 120; k >= 1; k--) f = x + (k / 2.0) / f;
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        if (Math.abs(x) < 1.5) return erfSeries(x);
        return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
    }

    /** The series above, for |x| < 1.5 (at most ~40 terms). */
    private static double erfSeries(double x) {
        double term = x, sum = x, x2 = x * x;
        for (int n = 1; n < 200; n++) {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    }

    /** Phi(x), the standard normal CDF, = erfc(-x / sqrt 2) / 2 (accurate in both tails). */
    static double normalCdf(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /** y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
    static double[] geluForward(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * normalCdf(x[i]);
        return y;
    }

    /** dx = dy (Phi(x) + x phi(x)). */
    static double[] geluBackward(double[] dy, double[] x) {
        double[] dx = new double[x.length];
        for (int i = 0; i < x.length; i++)
            dx[i] = dy[i] * (normalCdf(x[i]) + x[i] * INV_SQRT_2PI * Math.exp(-0.5 * x[i] * x[i]));
        return dx;
    }

    /** {out [B,T,D], probs [B,H,T,T]} of multi-head self-attention over qkv [B,T,3D], D = H Dh. */
    static double[][] attentionForward(double[] qkv, int[] lengths, int B, int T, int H, int Dh) {
        int D = H * Dh;
        double[] out = new double[B * T * D], probs = new double[B * H * T * T];
        double scale = 1 / Math.sqrt(Dh);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < lengths[b]; t++) {
                    int len = lengths[b], prow = ((b * H + h) * T + t) * T;
                    int q = (b * T + t) * 3 * D + h * Dh;
                    double max = Double.NEGATIVE_INFINITY;
                    double[] s = new double[len];
                    for (int u = 0; u < len; u++) {
                        int k = (b * T + u) * 3 * D + D + h * Dh;
                        double dot = 0;
                        for (int j = 0; j < Dh; j++) dot += qkv[q + j] * qkv[k + j];
                        s[u] = dot * scale;
                        max = Math.max(max, s[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u < len; u++) sum += Math.exp(s[u] - max);
                    for (int u = 0; u < len; u++) probs[prow + u] = Math.exp(s[u] - max) / sum;
                    for (int u = 0; u < len; u++) {
                        int v = (b * T + u) * 3 * D + 2 * D + h * Dh;
                        for (int j = 0; j < Dh; j++) out[(b * T + t) * D + h * Dh + j] += probs[prow + u] * qkv[v + j];
                    }
                }
        return new double[][] {out, probs};
    }

    /**
     * d_qkv [B,T,3D] given the saved probs P. Per head, with dP[t,u] = d_out_t . v_u and
     * dS = P (dP - sum_u P dP) (the softmax backward): dq_t = sum_u dS[t,u] k_u / sqrt(Dh),
     * dk_u = sum_t dS[t,u] q_t / sqrt(Dh), dv_u = sum_t P[t,u] d_out_t; t, u < len only.
     */
    static double[] attentionBackward(double[] dOut, double[] qkv, double[] probs, int[] lengths, int B, int T, int H,
            int Dh) {
        int D = H * Dh;
        double[] dq = new double[B * T * 3 * D];
        double scale = 1 / Math.sqrt(Dh);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < lengths[b]; t++) {
                    int len = lengths[b], prow = ((b * H + h) * T + t) * T;
                    int q = (b * T + t) * 3 * D + h * Dh, dout = (b * T + t) * D + h * Dh;
                    double[] dp = new double[len];
                    double pdp = 0;
                    for (int u = 0; u < len; u++) {
                        int v = (b * T + u) * 3 * D + 2 * D + h * Dh;
                        for (int j = 0; j < Dh; j++) dp[u] += dOut[dout + j] * qkv[v + j];
                        pdp += probs[prow + u] * dp[u];
                    }
                    for (int u = 0; u < len; u++) {
                        double p = probs[prow + u], ds = p * (dp[u] - pdp) * scale;
                        int k = (b * T + u) * 3 * D + D + h * Dh, v = k + D;
                        for (int j = 0; j < Dh; j++) {
                            dq[q + j] += ds * qkv[k + j];
                            dq[k + j] += ds * qkv[q + j];
                            dq[v + j] += p * dOut[dout + j];
                        }
                    }
                }
        return dq;
    }

    static final int POOL_MEAN = 0, POOL_FIRST = 1;

    /** y [B,D]: the mean of x [B,T,D] over t < len (POOL_MEAN) or x[b,0] (POOL_FIRST). */
    static double[] poolForward(double[] x, int[] lengths, int B, int T, int D, int mode) {
        double[] y = new double[B * D];
        for (int b = 0; b < B; b++) {
            int rows = mode == POOL_MEAN ? lengths[b] : 1;
            for (int t = 0; t < rows; t++)
                for (int d = 0; d < D; d++) y[b * D + d] += x[(b * T + t) * D + d] / rows;
        }
        return y;
    }

    /** dx [B,T,D]: dy / len at t < len (POOL_MEAN), or dy at t = 0 (POOL_FIRST); 0 elsewhere. */
    static double[] poolBackward(double[] dy, int[] lengths, int B, int T, int D, int mode) {
        double[] dx = new double[B * T * D];
        for (int b = 0; b < B; b++) {
            int rows = mode == POOL_MEAN ? lengths[b] : 1;
            for (int t = 0; t < rows; t++)
                for (int d = 0; d < D; d++) dx[(b * T + t) * D + d] = dy[b * D + d] / rows;
        }
        return dx;
    }
}
