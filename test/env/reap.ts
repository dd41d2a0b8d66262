console.log('reap placeholder');
