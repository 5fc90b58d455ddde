import { Rng } from "@sgprop/gym";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { disposeKernelThreads, kernelRuntime, transientLayout } from "../runtime.js";
import { ffPackWcat } from "./feedforward.js";
import { expectClose, indices, normals, roundUp, runFf, softmaxRows, tanhs } from "./feedforwardTestBlock.js";

afterAll(() => disposeKernelThreads());

/** Float32 rounding over sums of at most ~30 terms of O(1) values. */
const TOL = 2e-5;

/** Small layer shapes: samples, neurons, slots, q, parents (D = P q above layer 0). */
const shape = fc.record({
  n: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 4 }),
  m: fc.integer({ min: 1, max: 4 }),
  q: fc.integer({ min: 1, max: 3 }),
  p: fc.integer({ min: 1, max: 3 }),
  seed: fc.integer({ min: 0, max: 9999 }),
});

describe("feed-forward forward kernels (feedforward.c)", () => {
  it("ff_forward equals a float64 loop (layer 0 and above, residual, with and without SG)", () => {
    fc.assert(
      fc.property(
        shape,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 20 }),
        ({ n, w, m, q, p, seed }, layer0, residualFlag, sg, xdim) => {
          const rng = Rng.fromSeed(seed);
          const residual = !layer0 && residualFlag;
          const d = layer0 ? p * q + 1 : p * q;
          const mq = m * q;
          const ka = roundUp(m, 4);
          const kp = roundUp(ka + (sg ? 2 : 1) * mq, 12);
          const src = layer0 ? normals(rng, n * xdim) : tanhs(rng, n * w * q);
          const idx = layer0 ? indices(rng, w * d, xdim) : indices(rng, w * p, w);
          const wp = normals(rng, w * d * kp, 0.5);
          const b = normals(rng, w * mq, 0.3);
          const sgb = normals(rng, w * mq, 0.3);
          const r = runFf(
            "ff_forward",
            {
              N: n,
              W: w,
              M: m,
              Q: q,
              P: p,
              D: d,
              KP: kp,
              RESIDUAL: residual ? 1 : 0,
              LAYER0: layer0 ? 1 : 0,
              WITH_SG: sg ? 1 : 0,
              XDIM: xdim,
            },
            {
              SRC: src,
              IDX: idx,
              WP: wp,
              B: b,
              SGB: sgb,
              U: n * w * d,
              ALPHA: n * w * m,
              Y: n * w * mq,
              H: n * w * q,
              TANH: n * w * q,
              SGLIN: n * w * mq,
              SGPRED: n * w * q,
            },
            n,
            4 * kp + mq + q + 32,
          );
          const want = {
            u: new Float64Array(n * w * d),
            alpha: new Float64Array(n * w * m),
            y: new Float64Array(n * w * mq),
            h: new Float64Array(n * w * q),
            t: new Float64Array(n * w * q),
            sl: new Float64Array(n * w * mq),
            sp: new Float64Array(n * w * q),
          };
          for (let s = 0; s < n; s++)
            for (let i = 0; i < w; i++) {
              const ni = s * w + i;
              const u = new Float64Array(d);
              if (layer0)
                for (let e = 0; e < d; e++) u[e] = src[s * xdim + (idx[i * d + e] as number)] as number;
              else
                for (let e = 0; e < p; e++)
                  for (let j = 0; j < q; j++)
                    u[e * q + j] = src[(s * w + (idx[i * p + e] as number)) * q + j] as number;
              want.u.set(u, ni * d);
              const z = new Float64Array(kp);
              for (let k = 0; k < kp; k++)
                for (let e = 0; e < d; e++)
                  z[k] = (z[k] as number) + (u[e] as number) * (wp[(i * d + e) * kp + k] as number);
              const logits = Array.from({ length: m }, (_, k) => (z[k] as number) / Math.sqrt(d));
              const mx = Math.max(...logits);
              const ex = logits.map((l) => Math.exp(l - mx));
              const tot = ex.reduce((x, y) => x + y, 0);
              const al = ex.map((e) => e / tot);
              want.alpha.set(al, ni * m);
              const out = new Float64Array(q);
              const pred = new Float64Array(q);
              for (let k = 0; k < m; k++)
                for (let j = 0; j < q; j++) {
                  const c = k * q + j;
                  const y = Math.tanh((z[ka + c] as number) + (b[i * mq + c] as number));
                  want.y[ni * mq + c] = y;
                  out[j] = (out[j] as number) + (al[k] as number) * y;
                  const sl = (z[ka + mq + c] as number) + (sgb[i * mq + c] as number);
                  want.sl[ni * mq + c] = sl;
                  pred[j] = (pred[j] as number) + (al[k] as number) * sl;
                }
              for (let j = 0; j < q; j++) {
                const o = out[j] as number;
                want.t[ni * q + j] = Math.tanh(o);
                want.h[ni * q + j] = residual ? Math.tanh(o) + (src[ni * q + j] as number) : o;
                want.sp[ni * q + j] = pred[j] as number;
              }
            }
          expectClose(r.f32("U", n * w * d), want.u, 0, "u");
          expectClose(r.f32("ALPHA", n * w * m), want.alpha, TOL, "alpha");
          expectClose(r.f32("Y", n * w * mq), want.y, TOL, "y");
          expectClose(r.f32("H", n * w * q), want.h, TOL, "h");
          if (residual) expectClose(r.f32("TANH", n * w * q), want.t, TOL, "tanh(out)");
          if (sg) {
            expectClose(r.f32("SGLIN", n * w * mq), want.sl, TOL, "sg slot maps");
            expectClose(r.f32("SGPRED", n * w * q), want.sp, TOL, "hhat");
          } else {
            expect(r.f32("SGPRED", n * w * q).every((v) => v === 0)).toBe(true);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("ff_sg_refresh equals a float64 loop over the stored u and alpha", () => {
    fc.assert(
      fc.property(shape, ({ n, w, m, q, p, seed }) => {
        const rng = Rng.fromSeed(seed);
        const d = p * q;
        const mq = m * q;
        const kps = roundUp(mq, 12);
        const u = normals(rng, n * w * d);
        const alpha = softmaxRows(rng, n * w, m);
        const wsg = normals(rng, w * d * kps, 0.5);
        const sgb = normals(rng, w * mq, 0.3);
        const r = runFf(
          "ff_sg_refresh",
          { N: n, W: w, M: m, Q: q, D: d, KPS: kps },
          { U: u, ALPHA: alpha, WSG: wsg, SGB: sgb, SGLIN: n * w * mq, SGPRED: n * w * q },
          n,
          16,
        );
        const sl = new Float64Array(n * w * mq);
        const sp = new Float64Array(n * w * q);
        for (let s = 0; s < n; s++)
          for (let i = 0; i < w; i++) {
            const ni = s * w + i;
            for (let c = 0; c < mq; c++) {
              let z = sgb[i * mq + c] as number;
              for (let e = 0; e < d; e++)
                z += (u[ni * d + e] as number) * (wsg[(i * d + e) * kps + c] as number);
              sl[ni * mq + c] = z;
              const j = c % q;
              sp[ni * q + j] = (sp[ni * q + j] as number) + (alpha[ni * m + Math.floor(c / q)] as number) * z;
            }
          }
        expectClose(r.f32("SGLIN", n * w * mq), sl, TOL, "sg slot maps");
        expectClose(r.f32("SGPRED", n * w * q), sp, TOL, "hhat");
      }),
      { numRuns: 60 },
    );
  });
});

describe("feed-forward backward kernels (feedforward.c)", () => {
  it("ff_pack_wcat stacks keys over A with rows padded to dp", () => {
    fc.assert(
      fc.property(shape, ({ w, m, q, p, seed }) => {
        const rng = Rng.fromSeed(seed);
        const d = p * q;
        const mq = m * q;
        const k1 = m + mq;
        const dp = roundUp(d, 12);
        const keys = normals(rng, w * m * d);
        const a = normals(rng, w * mq * d);
        const rt = kernelRuntime();
        const { offsets, total } = transientLayout([keys.length, a.length, w * k1 * dp]);
        const [ok, oa, od] = offsets as [number, number, number];
        const heap = rt.heap(total);
        heap.set(keys, ok);
        heap.set(a, oa);
        heap.fill(0, od, od + w * k1 * dp);
        ffPackWcat(
          { keys: ok, A: oa, dst: od, width: w, numSlots: m, slotEntries: mq, inputDim: d, paddedDim: dp },
          0,
        );
        const got = rt.heap(total).slice(od, od + w * k1 * dp);
        const want = new Float64Array(w * k1 * dp);
        for (let i = 0; i < w; i++)
          for (let k = 0; k < k1; k++)
            for (let e = 0; e < d; e++)
              want[(i * k1 + k) * dp + e] = (
                k < m ? keys[(i * m + k) * d + e] : a[(i * mq + k - m) * d + e]
              ) as number;
        expectClose(got, want, 0, "wcat");
      }),
      { numRuns: 30 },
    );
  });

  it("ff_backward equals a float64 loop (dz, bias, [keys | A] and input gradients)", () => {
    fc.assert(
      fc.property(shape, fc.boolean(), ({ n, w, m, q, p, seed }, residual) => {
        const rng = Rng.fromSeed(seed);
        const d = p * q;
        const mq = m * q;
        const k1 = m + mq;
        const dp = roundUp(d, 12);
        const g = normals(rng, n * w * q);
        const alpha = softmaxRows(rng, n * w, m);
        const y = tanhs(rng, n * w * mq);
        const t = tanhs(rng, n * w * q);
        const u = normals(rng, n * w * d);
        const wcat = normals(rng, w * k1 * dp, 0.5);
        const r = runFf(
          "ff_backward",
          { N: n, W: w, M: m, Q: q, D: d, DP: dp, RESIDUAL: residual ? 1 : 0, NEED_PARAMS: 1, NEED_DU: 1 },
          {
            G: g,
            ALPHA: alpha,
            Y: y,
            TANH: t,
            U: u,
            WCAT: wcat,
            DZ: n * w * k1,
            DB: w * mq,
            DW: w * k1 * d,
            DU: n * w * d,
          },
          w,
          q + m + 16,
        );
        const dz = new Float64Array(n * w * k1);
        const db = new Float64Array(w * mq);
        const dw = new Float64Array(w * k1 * d);
        const du = new Float64Array(n * w * d);
        for (let s = 0; s < n; s++)
          for (let i = 0; i < w; i++) {
            const ni = s * w + i;
            const dout = Array.from({ length: q }, (_, j) => {
              const tv = t[ni * q + j] as number;
              return (g[ni * q + j] as number) * (residual ? 1 - tv * tv : 1);
            });
            const dal = new Float64Array(m);
            let mean = 0;
            for (let k = 0; k < m; k++) {
              const ak = alpha[ni * m + k] as number;
              for (let j = 0; j < q; j++) {
                const yv = y[ni * mq + k * q + j] as number;
                dal[k] = (dal[k] as number) + (dout[j] as number) * yv;
                const dpre = ak * (dout[j] as number) * (1 - yv * yv);
                dz[ni * k1 + m + k * q + j] = dpre;
                db[i * mq + k * q + j] = (db[i * mq + k * q + j] as number) + dpre;
              }
              mean += ak * (dal[k] as number);
            }
            for (let k = 0; k < m; k++)
              dz[ni * k1 + k] = ((alpha[ni * m + k] as number) * ((dal[k] as number) - mean)) / Math.sqrt(d);
            for (let k = 0; k < k1; k++)
              for (let e = 0; e < d; e++) {
                const z = dz[ni * k1 + k] as number;
                dw[(i * k1 + k) * d + e] =
                  (dw[(i * k1 + k) * d + e] as number) + z * (u[ni * d + e] as number);
                du[ni * d + e] = (du[ni * d + e] as number) + z * (wcat[(i * k1 + k) * dp + e] as number);
              }
          }
        expectClose(r.f32("DZ", n * w * k1), dz, TOL, "dz");
        expectClose(r.f32("DB", w * mq), db, TOL, "db");
        expectClose(r.f32("DW", w * k1 * d), dw, TOL, "d[keys | A]");
        expectClose(r.f32("DU", n * w * d), du, TOL, "du");
      }),
      { numRuns: 60 },
    );
  });

  it("ff_scatter sums the parents' shares of du (plus the skip connection)", () => {
    fc.assert(
      fc.property(shape, fc.boolean(), ({ n, w, q, p, seed }, residual) => {
        const rng = Rng.fromSeed(seed);
        const d = p * q;
        const du = normals(rng, n * w * d);
        const parents = indices(rng, w * p, w);
        const g = normals(rng, n * w * q);
        const r = runFf(
          "ff_scatter",
          { N: n, W: w, Q: q, P: p, D: d, RESIDUAL: residual ? 1 : 0 },
          { DU: du, IDX: parents, G: g, DHPREV: n * w * q },
          n,
          16,
        );
        const want = new Float64Array(n * w * q);
        for (let s = 0; s < n; s++) {
          for (let i = 0; i < w; i++)
            for (let e = 0; e < p; e++)
              for (let j = 0; j < q; j++) {
                const o = (s * w + (parents[i * p + e] as number)) * q + j;
                want[o] = (want[o] as number) + (du[(s * w + i) * d + e * q + j] as number);
              }
          if (residual)
            for (let e = 0; e < w * q; e++)
              want[s * w * q + e] = (want[s * w * q + e] as number) + (g[s * w * q + e] as number);
        }
        expectClose(r.f32("DHPREV", n * w * q), want, TOL, "dh_prev");
      }),
      { numRuns: 60 },
    );
  });

  it("ff_sg_grad equals a float64 loop (loss, Atilde and btilde gradients)", () => {
    fc.assert(
      fc.property(shape, fc.double({ min: 0.1, max: 2, noNaN: true }), ({ n, w, m, q, p, seed }, c) => {
        const rng = Rng.fromSeed(seed);
        const d = p * q;
        const mq = m * q;
        const sp = normals(rng, n * w * q);
        const target = normals(rng, n * w * q);
        const alpha = softmaxRows(rng, n * w, m);
        const u = normals(rng, n * w * d);
        const cf = Math.fround(c);
        const r = runFf(
          "ff_sg_grad",
          { N: n, W: w, M: m, Q: q, D: d },
          {
            SGPRED: sp,
            TARGET: target,
            ALPHA: alpha,
            U: u,
            FLOAT_ARG: Float32Array.of(cf),
            SGLOSS: 2 * w,
            DSGB: w * mq,
            DSGA: w * mq * d,
          },
          w,
          n * mq + 16,
        );
        const loss = new Float64Array(w);
        const dsgb = new Float64Array(w * mq);
        const dsga = new Float64Array(w * mq * d);
        for (let s = 0; s < n; s++)
          for (let i = 0; i < w; i++) {
            const ni = s * w + i;
            for (let j = 0; j < q; j++) {
              const diff = Math.fround((sp[ni * q + j] as number) - (target[ni * q + j] as number));
              loss[i] = (loss[i] as number) + diff * diff;
              for (let k = 0; k < m; k++) {
                const dl = (alpha[ni * m + k] as number) * diff * cf;
                const c2 = i * mq + k * q + j;
                dsgb[c2] = (dsgb[c2] as number) + dl;
                for (let e = 0; e < d; e++)
                  dsga[c2 * d + e] = (dsga[c2 * d + e] as number) + dl * (u[ni * d + e] as number);
              }
            }
          }
        expectClose(r.f64("SGLOSS", w), loss, 1e-12, "sg loss");
        expectClose(r.f32("DSGB", w * mq), dsgb, TOL, "d btilde");
        expectClose(r.f32("DSGA", w * mq * d), dsga, TOL, "d Atilde");
      }),
      { numRuns: 60 },
    );
  });
});
