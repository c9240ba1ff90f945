// A consumer of the postgres component: it links StatusStack::webhooks_postgres (and through it
// libpq) and makes the store options of a queue, without a server to connect to.
#include <statusstack/webhooks/postgres.hpp>

#include <iostream>

int main() {
  using namespace statusstack::webhooks;
  const StoreOptions options = postgres::store("postgresql://app:not-shown@db.invalid:5432/statusstack");
  std::cout << "store " << options.path << '\n';
  return options.backend ? 0 : 1;
}
