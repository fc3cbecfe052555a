/**
 * Knowing when a call is really over. A plain value is done at once, a promise
 * when it settles, and a stream (async iterable) when it has been consumed,
 * failed or was abandoned. The caller always gets the same outcome it would
 * have had without tracing.
 */
import { type Context, context } from '@opentelemetry/api';

export type Settled =
  | { readonly status: 'ok'; readonly value?: unknown }
  | { readonly status: 'error'; readonly error: unknown }
  | { readonly status: 'cancelled' };

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> & object {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** Reports once the value (or the promise's value) is available; returns what the caller must get. */
export function afterResult<R>(result: R, done: (settled: Settled) => void): R {
  if (!isPromiseLike(result)) {
    done({ status: 'ok', value: result });
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      done({ status: 'ok', value });
      return value;
    },
    (error: unknown) => {
      done({ status: 'error', error });
      throw error;
    },
  ) as R;
}

/**
 * A view of `iterable` that reports when async iteration ends. Everything
 * else (methods, properties, `instanceof`) reaches the original object, with
 * methods bound to it so platform objects such as ReadableStream keep working.
 * Each `next()` runs in `ctx`, so lazily evaluated generators still see the
 * run as their parent. Only consumption through `Symbol.asyncIterator` is
 * observed.
 */
export function observeIteration<T extends object>(iterable: T, ctx: Context, done: (settled: Settled) => void): T {
  return new Proxy(iterable, {
    get(target, property) {
      if (property === Symbol.asyncIterator) {
        return () => {
          const inner = context.with(ctx, () => (target as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator]());
          return observeIterator(inner, ctx, done);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function observeIterator(
  inner: AsyncIterator<unknown>,
  ctx: Context,
  done: (settled: Settled) => void,
): AsyncIterableIterator<unknown> {
  const fail = (error: unknown): never => {
    done({ status: 'error', error });
    throw error;
  };
  const iterator: AsyncIterableIterator<unknown> = {
    next(...args: [] | [unknown]) {
      let step: Promise<IteratorResult<unknown>>;
      try {
        step = Promise.resolve(context.with(ctx, () => inner.next(...args)));
      } catch (error) {
        done({ status: 'error', error });
        return Promise.reject(error);
      }
      return step.then((result) => {
        if (result.done) done({ status: 'ok' });
        return result;
      }, fail);
    },
    return(value?: unknown) {
      // The consumer stopped early (break, or the stream was cancelled).
      done({ status: 'cancelled' });
      return inner.return
        ? Promise.resolve(inner.return(value))
        : Promise.resolve({ done: true, value } as IteratorResult<unknown>);
    },
    throw(error?: unknown) {
      done({ status: 'error', error });
      return inner.throw ? Promise.resolve(inner.throw(error)) : Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
