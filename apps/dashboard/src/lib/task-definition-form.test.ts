import { describe, expect, it } from "vitest";
import {
  emptyForm,
  formToRequest,
  joinArgs,
  requestToForm,
  splitArgs,
} from "./task-definition-form.js";

describe("task definition form", () => {
  it("splits command lines like a shell, quotes included, and joins them back", () => {
    expect(splitArgs("httpd -f -p 8080 -h /www")).toEqual([
      "httpd",
      "-f",
      "-p",
      "8080",
      "-h",
      "/www",
    ]);
    expect(splitArgs(`sh -c 'echo "hi there"; sleep 1'`)).toEqual([
      "sh",
      "-c",
      'echo "hi there"; sleep 1',
    ]);
    expect(splitArgs(`a "" b\\ c`)).toEqual(["a", "", "b c"]);
    const args = ["sh", "-c", "echo it's; exit 3"];
    expect(splitArgs(joinArgs(args))).toEqual(args);
  });

  it("turns the form into the API's body and back", () => {
    const form = emptyForm();
    form.family = "web";
    form.cpu = "0.5 vCPU";
    form.fargate = true;
    form.containers = [
      {
        name: "httpd",
        image: "skiff-test/busybox:latest",
        command: "httpd -f -p 8080",
        env: "GREETING=hello=world\n\n",
        secrets: "DB_PASSWORD = db-password\n",
        ports: "8080, 9090",
        essential: true,
      },
    ];
    const body = formToRequest(form);
    expect(body).toEqual({
      family: "web",
      cpu: "0.5 vCPU",
      memory: 512,
      compatibilities: ["pool", "fargate"],
      containers: [
        {
          name: "httpd",
          image: "skiff-test/busybox:latest",
          essential: true,
          command: ["httpd", "-f", "-p", "8080"],
          env: { GREETING: "hello=world" },
          secrets: [{ name: "DB_PASSWORD", valueFrom: "db-password" }],
          portMappings: [{ containerPort: 8080 }, { containerPort: 9090 }],
        },
      ],
    });
    expect(formToRequest(requestToForm(body))).toEqual(body);
  });
});
