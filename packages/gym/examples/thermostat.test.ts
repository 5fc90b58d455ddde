import { test } from "@fast-check/vitest";
import { envProperties, propertyList } from "@sgprop/gym/testing";
import { describe } from "vitest";
import { makeThermostat } from "./thermostat.js";

describe("Thermostat honours the env contract", () => {
  for (const p of propertyList(envProperties(makeThermostat))) {
    // includeErrorInReport puts the failure and its replay line into the report
    test.prop([p.arbitrary], { numRuns: 25, includeErrorInReport: true })(p.description, (input) => {
      p.check(input);
    });
  }
});
