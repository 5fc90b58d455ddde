/**
 * Adam on float64 arrays, as torch.optim.Adam with the authors' settings (optimizer.py: betas
 * 0.9 / 0.98, eps 1e-9). Our parameters are typed arrays, not tfjs variables, so @sgprop/agents'
 * Adam does not apply; the update is the same formula.
 */
export interface AdamSettings {
  readonly learningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

export interface AdamSnapshot {
  readonly step: number;
  readonly m: Record<string, number[]>;
  readonly v: Record<string, number[]>;
}

export class Adam64 {
  private step = 0;
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(
    private readonly params: Readonly<Record<string, Float64Array>>,
    readonly settings: AdamSettings,
  ) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.98;
    this.epsilon = settings.epsilon ?? 1e-9;
    for (const [name, p] of Object.entries(params)) {
      this.m.set(name, new Float64Array(p.length));
      this.v.set(name, new Float64Array(p.length));
    }
  }

  /** One descent step along `grads` (same names as the parameters); a learning rate of 0 freezes them. */
  apply(grads: Readonly<Record<string, Float64Array>>): void {
    const lr = this.settings.learningRate;
    if (lr === 0) return;
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = Math.sqrt(1 - this.beta2 ** this.step);
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      if (!g) continue;
      const m = this.m.get(name) as Float64Array;
      const v = this.v.get(name) as Float64Array;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        m[i] = this.beta1 * (m[i] as number) + (1 - this.beta1) * gi;
        v[i] = this.beta2 * (v[i] as number) + (1 - this.beta2) * gi * gi;
        p[i] =
          (p[i] as number) - ((lr / c1) * (m[i] as number)) / (Math.sqrt(v[i] as number) / c2 + this.epsilon);
      }
    }
  }

  snapshot(): AdamSnapshot {
    const m: Record<string, number[]> = {};
    const v: Record<string, number[]> = {};
    for (const [name, a] of this.m) m[name] = Array.from(a);
    for (const [name, a] of this.v) v[name] = Array.from(a);
    return { step: this.step, m, v };
  }

  restore(s: AdamSnapshot): void {
    this.step = s.step;
    for (const [name, a] of this.m) a.set(s.m[name] ?? []);
    for (const [name, a] of this.v) a.set(s.v[name] ?? []);
  }
}
