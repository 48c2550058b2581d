//! The session pool under concurrency, and recovery when the login is pulled away.

use hsm::{Error, KeyBytes, SealContext};

use softhsm_support::softhsm_test;

use crate::kek_sealing::open_with_root;

softhsm_test! {
    fn dozens_of_tasks_seal_and_unseal_concurrently(env) {
        let hsm = open_with_root(env, "busy");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let tenants: Vec<_> = (0..6).map(|t| format!("tenant-{t}")).collect();
            let mut dks = Vec::new();
            for _ in &tenants {
                dks.push(hsm.create_domain_key_async(1).await.expect("dk"));
            }
            let mut tasks = Vec::new();
            for task in 0..48usize {
                let hsm = hsm.clone();
                let tenant = tenants[task % tenants.len()].clone();
                let dk = dks[task % dks.len()].clone();
                let other_dk = dks[(task + 1) % dks.len()].clone();
                tasks.push(tokio::spawn(async move {
                    for round in 0..5u64 {
                        let plaintext = hsm.random_async(32).await.expect("random");
                        let copy = KeyBytes::copy_from(plaintext.expose());
                        let object = format!("kek-{task}-{round}");
                        let sealed = hsm
                            .seal_async(dk.clone(), tenant.clone(), object.clone(), round, plaintext)
                            .await
                            .expect("seal");
                        let back = hsm
                            .unseal_async(dk.clone(), tenant.clone(), object.clone(), round, sealed.clone())
                            .await
                            .expect("unseal");
                        assert_eq!(back, copy);
                        let wrong = hsm
                            .unseal_async(other_dk.clone(), tenant.clone(), object, round, sealed)
                            .await;
                        assert!(matches!(wrong, Err(Error::UnsealFailed)), "{wrong:?}");
                    }
                }));
            }
            for task in tasks {
                task.await.expect("task");
            }
        });
        assert_eq!(hsm.cached_domain_keys(), 6);
    }
}

softhsm_test! {
    fn logout_from_under_the_pool_is_recovered(env) {
        let hsm = open_with_root(env, "flaky");
        let dk = hsm.create_domain_key(1).expect("dk");
        let context = SealContext { tenant: "t", object_id: "o", version: 0 };
        let sealed = hsm.seal(&dk, &context, b"sixteen byte key").expect("seal");
        assert_eq!(hsm.cached_domain_keys(), 1);

        hsm.logout_from_under_pool().expect("logout");
        // The cached Domain Key vanished with the login; unseal re-logs in and re-unwraps.
        let back = hsm.unseal(&dk, &context, &sealed).expect("unseal after logout");
        assert_eq!(back.expose(), b"sixteen byte key");
        assert_eq!(hsm.cached_domain_keys(), 1);

        hsm.logout_from_under_pool().expect("logout");
        assert!(hsm.root_attributes().expect("attributes after logout").sensitive);
        hsm.logout_from_under_pool().expect("logout");
        assert_eq!(hsm.random(8).expect("random after logout").len(), 8);
        hsm.logout_from_under_pool().expect("logout");
        assert!(hsm.create_domain_key(2).is_ok());
    }
}

softhsm_test! {
    fn logout_during_concurrent_work_is_recovered(env) {
        let hsm = open_with_root(env, "storm");
        let dk = hsm.create_domain_key(1).expect("dk");
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|worker| {
                    let hsm = &hsm;
                    let dk = &dk;
                    scope.spawn(move || {
                        let object = format!("o-{worker}");
                        let context = SealContext { tenant: "t", object_id: &object, version: 0 };
                        let mut failures = Vec::new();
                        for _ in 0..60 {
                            let result = hsm
                                .seal(dk, &context, b"0123456789abcdef")
                                .and_then(|sealed| hsm.unseal(dk, &context, &sealed));
                            match result {
                                Ok(back) => assert_eq!(back.expose(), b"0123456789abcdef"),
                                Err(err) => failures.push(err.to_string()),
                            }
                        }
                        failures
                    })
                })
                .collect();
            for _ in 0..3 {
                std::thread::sleep(std::time::Duration::from_millis(40));
                hsm.logout_from_under_pool().expect("logout");
            }
            for worker in workers {
                let failures = worker.join().expect("worker");
                assert!(failures.is_empty(), "calls failed despite recovery: {failures:?}");
            }
        });
    }
}
