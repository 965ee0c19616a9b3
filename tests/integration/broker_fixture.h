// BrokerFixture: a GoogleTest fixture with a real sentryd (started in SetUp,
// stopped cleanly in TearDown, which checks exit code 0) and a connected
// client. Subclasses add broker flags through ExtraArgs().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "integration/broker_process.h"
#include "test_util.h"

namespace sentry::testing {

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(dir_ / "data", ExtraArgs());
    ASSERT_TRUE(broker_->Start()) << broker_->Output();
    client_ = broker_->NewClient();
    ASSERT_TRUE(client_);
  }
  void TearDown() override {
    client_.reset();
    if (broker_->running()) {
      EXPECT_EQ(broker_->Stop(), 0) << broker_->Output();
    }
  }
  virtual std::vector<std::string> ExtraArgs() { return {}; }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace sentry::testing
