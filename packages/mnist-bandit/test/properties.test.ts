import { Discrete, make } from "@sgprop/gym";
import { envProperties, propertyList } from "@sgprop/gym/testing";
import { describe, expect, it } from "vitest";
import { MNIST_BANDIT_ENV_ID, MnistBanditEnv, registerMnistBanditEnvs } from "../src/index.js";
import { testData } from "./helpers.js";

const data = testData();
registerMnistBanditEnvs();

describe.each([
  ["the registered env (train split, pFlip 0.4)", () => make(MNIST_BANDIT_ENV_ID, { dataset: data })],
  [
    "a noiseless test-split env on two classes",
    () => new MnistBanditEnv({ dataset: data, split: "test", pFlip: 0, classes: [3, 8] }),
  ],
])("%s honours the env contract", (_, makeEnv) => {
  const env = makeEnv() as MnistBanditEnv;
  const props = envProperties(makeEnv, {
    infoSpaces: {
      exampleIndex: new Discrete(data[env.split].labels.length),
      label: new Discrete(env.actionSpace.n),
      digit: new Discrete(10),
      correct: new Discrete(2),
    },
    // One step per episode: runs of a few episodes cover resets without a seed.
    maxLength: 3,
    maxEpisodes: 6,
  });

  it("is checkpointable", () => {
    expect(props.checkpointRestoresExactly).toBeDefined();
  });

  it.each(propertyList(props).map((p) => [p.name, p] as const))("%s (30 runs)", (_, p) => {
    p.assert({ numRuns: 30 });
  });
});
