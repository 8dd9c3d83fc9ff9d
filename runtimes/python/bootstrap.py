"""Skiff's runtime client for the python3.11 image: the Lambda Runtime API loop (next, then
response or error) around the user's `module.function` handler. Standard library only: one
persistent http.client connection for every next and post (the hot path)."""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

BASE = "/2018-06-01/runtime"
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
host, _, port = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001").rpartition(":")
connection = http.client.HTTPConnection(host, int(port))


def call(method, path, body=None, headers=None):
    for attempt in (1, 2):
        try:
            connection.request(method, BASE + path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The kept-alive connection was closed by the server meanwhile: reconnect once.
            connection.close()
            if attempt == 2:
                raise


def post(path, document, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    return call("POST", path, json.dumps(document).encode("utf-8"), headers)


def error_document(error, error_type=None, request_id=None):
    frames = traceback.extract_tb(error.__traceback__)
    document = {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": [line for line in traceback.format_list(frames)],
    }
    if request_id:
        document["requestId"] = request_id
    return document


class Context:
    """The context object Lambda's python runtime passes as the second argument."""

    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = _json_header(headers.get("Lambda-Runtime-Cognito-Identity"))
        self.client_context = _json_header(headers.get("Lambda-Runtime-Client-Context"))
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _json_header(value):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


class InitError(Exception):
    def __init__(self, error_type, message, cause=None):
        super().__init__(message)
        self.error_type = error_type
        if cause is not None:
            self.__traceback__ = cause.__traceback__


def load_handler(spec):
    """`dir/module.function` to the function, with Lambda's init error names."""
    directory, _, name = spec.rpartition("/")
    module_name, dot, function_name = name.partition(".")
    if not dot or not module_name or not function_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack")
    sys.path.insert(0, os.path.join(TASK_ROOT, directory) if directory else TASK_ROOT)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}", error)
    except SyntaxError as error:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", error)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def main():
    try:
        handler = load_handler(os.environ.get("_HANDLER", "lambda_function.lambda_handler"))
    except Exception as error:  # any failure of the user's module at import is an init error
        error_type = getattr(error, "error_type", None)
        document = error_document(error, error_type)
        print(f"[ERROR] {document['errorType']}: {document['errorMessage']}", file=sys.stderr)
        try:
            post("/init/error", document, document["errorType"])
        finally:
            sys.exit(1)
    while True:
        status, headers, body = call("GET", "/invocation/next")
        if status != 200:
            print(f"runtime api: invocation/next answered {status}", file=sys.stderr)
            sys.exit(1)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            event = json.loads(body) if body else None
            result = handler(event, Context(headers))
            payload = json.dumps(result).encode("utf-8")
        except Exception as error:
            document = error_document(error, request_id=request_id)
            print(f"[ERROR] {document['errorType']}: {document['errorMessage']}", file=sys.stderr)
            post(f"/invocation/{request_id}/error", document, document["errorType"])
            continue
        call("POST", f"/invocation/{request_id}/response", payload, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
